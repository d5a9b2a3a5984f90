package dev.tokenmeter.policies.oracle;

import dev.tokenmeter.testkit.SharedReference;
import org.w3c.dom.ls.LSInput;
import org.w3c.dom.ls.LSResourceResolver;
import org.xml.sax.SAXException;
import org.xml.sax.SAXParseException;
import org.xml.sax.helpers.DefaultHandler;

import javax.xml.XMLConstants;
import javax.xml.transform.stream.StreamSource;
import javax.xml.validation.Schema;
import javax.xml.validation.SchemaFactory;
import javax.xml.validation.Validator;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Microsoft's policy XSDs, read from {@code ../shared/reference/apim-policy-xsd} (never copied), with the two spots
 * strict validators refuse adjusted in memory: the {@code \x21}-style pattern in cross-domain.xsd is dropped (XML
 * Schema regexes have no such escape), and {@code base} becomes a global element the section wildcard admits
 * (a local {@code base} beside {@code xs:any} breaks Unique Particle Attribution).
 */
final class ApimPolicyXsd {

    private final Schema schema;

    ApimPolicyXsd() {
        Path dir = SharedReference.resolve("apim-policy-xsd");
        SchemaFactory factory = SchemaFactory.newInstance(XMLConstants.W3C_XML_SCHEMA_NS_URI);
        factory.setResourceResolver(new AdjustingResolver(dir));
        try {
            schema = factory.newSchema(new StreamSource(new StringReader(read(dir, "policies.xsd")), "policies.xsd"));
        } catch (SAXException e) {
            throw new IllegalStateException("the APIM policy XSDs do not compile even after the known adjustments", e);
        }
    }

    /** Validation errors as "line:column message"; empty when the document is valid. */
    List<String> validate(String xml) {
        List<String> errors = new ArrayList<>();
        Validator validator = schema.newValidator();
        validator.setErrorHandler(new DefaultHandler() {
            @Override
            public void error(SAXParseException e) {
                errors.add(e.getLineNumber() + ":" + e.getColumnNumber() + " " + e.getMessage());
            }

            @Override
            public void fatalError(SAXParseException e) {
                error(e);
            }
        });
        try {
            validator.validate(new StreamSource(new StringReader(xml)));
        } catch (SAXException e) {
            errors.add(e.getMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return errors;
    }

    static String read(Path dir, String name) {
        try {
            String text = Files.readString(dir.resolve(name), StandardCharsets.UTF_8);
            text = text.startsWith("\uFEFF") ? text.substring(1) : text;
            return adjust(name, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String adjust(String name, String text) {
        if (name.equals("cross-domain.xsd")) {
            String adjusted = text.replaceAll("<xs:pattern value=\"[^\"]*\\\\x21[^\"]*\"\\s*/>", "");
            return requireChanged(name, text, adjusted);
        }
        if (name.equals("policies.xsd")) {
            String adjusted = text.replace("<xs:element name=\"base\" minOccurs=\"0\" maxOccurs=\"1\"/>", "");
            adjusted = requireChanged(name, text, adjusted);
            return adjusted.replace("<!-- Define the main policy elements -->",
                    "<xs:element name=\"base\"><xs:complexType/></xs:element>");
        }
        return text;
    }

    /** If Microsoft fixes a quirk upstream, say so instead of silently validating against something else. */
    private static String requireChanged(String name, String before, String after) {
        if (before.equals(after)) {
            throw new IllegalStateException(name + " no longer has the quirk this adjustment was written for");
        }
        return after;
    }

    private record AdjustingResolver(Path dir) implements LSResourceResolver {
        @Override
        public LSInput resolveResource(String type, String namespace, String publicId, String systemId, String baseUri) {
            String name = Path.of(systemId).getFileName().toString();
            return new StringInput(name, read(dir, name));
        }
    }

    private record StringInput(String systemId, String text) implements LSInput {
        @Override public Reader getCharacterStream() { return new StringReader(text); }
        @Override public void setCharacterStream(Reader r) { }
        @Override public InputStream getByteStream() { return null; }
        @Override public void setByteStream(InputStream s) { }
        @Override public String getStringData() { return text; }
        @Override public void setStringData(String s) { }
        @Override public String getSystemId() { return systemId; }
        @Override public void setSystemId(String s) { }
        @Override public String getPublicId() { return null; }
        @Override public void setPublicId(String s) { }
        @Override public String getBaseURI() { return null; }
        @Override public void setBaseURI(String s) { }
        @Override public String getEncoding() { return null; }
        @Override public void setEncoding(String s) { }
        @Override public boolean getCertifiedText() { return false; }
        @Override public void setCertifiedText(boolean b) { }
    }
}
