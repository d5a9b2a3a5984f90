package dev.tokenmeter.policies.set;

import dev.tokenmeter.policies.source.LineNumberedXml;
import dev.tokenmeter.policies.source.MaskedSource;
import org.w3c.dom.Document;

/**
 * One file of the policy set, read and masked. Exactly one of {@code document} and {@code syntaxError} is set
 * when the file exists; a missing file has neither and {@code missing} true.
 */
public record PolicyFile(String path, Kind kind, boolean missing, MaskedSource source, Document document,
                         LineNumberedXml.XmlSyntaxError syntaxError) {

    public enum Kind { FRAGMENT, POLICY }

    public boolean readable() {
        return document != null;
    }
}
