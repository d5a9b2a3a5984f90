package dev.tokenmeter.policies.validate;

import dev.tokenmeter.policies.manifest.ManifestLoader;
import dev.tokenmeter.policies.manifest.PolicySetManifest;
import dev.tokenmeter.policies.set.PolicyFile;
import dev.tokenmeter.policies.set.PolicySet;
import dev.tokenmeter.policies.source.LineNumberedXml;
import org.w3c.dom.Element;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code log-to-eventhub}: its logger is one the manifest declares (the CLI creates exactly those), and it does not
 * set both {@code partition-id} and {@code partition-key}, which APIM rejects.
 */
final class LogToEventHubRule implements Rule {

    @Override
    public List<Finding> check(PolicySet set) {
        List<Finding> findings = new ArrayList<>();
        List<String> loggers = set.manifest().loggers().stream().map(PolicySetManifest.LoggerDecl::id).toList();
        for (PolicyFile file : set.files()) {
            if (!file.readable()) {
                continue;
            }
            for (Element e : Dom.all(file.document())) {
                if (!e.getTagName().equals("log-to-eventhub")) {
                    continue;
                }
                int line = LineNumberedXml.lineOf(e);
                String logger = e.getAttribute("logger-id");
                if (!loggers.contains(logger)) {
                    findings.add(new Finding(file.path(), line, RuleId.LOGGER_DECLARED, "logger-id '" + logger
                            + "' is not a declared logger " + loggers, "use a logger declared under loggers in "
                            + ManifestLoader.FILE_NAME + " or declare this one"));
                }
                if (e.hasAttribute("partition-id") && e.hasAttribute("partition-key")) {
                    findings.add(new Finding(file.path(), line, RuleId.PARTITION_EXCLUSIVE,
                            "log-to-eventhub sets both partition-id and partition-key",
                            "keep only partition-key (the request id), so records spread over partitions"));
                }
            }
        }
        return findings;
    }
}
