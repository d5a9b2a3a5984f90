package dev.tokenmeter.policies.source;

import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.xml.sax.Attributes;
import org.xml.sax.InputSource;
import org.xml.sax.Locator;
import org.xml.sax.SAXException;
import org.xml.sax.SAXParseException;
import org.xml.sax.helpers.DefaultHandler;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import javax.xml.parsers.SAXParserFactory;
import java.io.IOException;
import java.io.StringReader;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Parses (masked) policy XML into a DOM whose elements remember the line they start on, so every finding can say
 * file:line. DTDs and external entities are refused: policy files never need them.
 */
public final class LineNumberedXml {

    private static final String LINE = "tokenmeter.line";

    private LineNumberedXml() {
    }

    /** Thrown when the masked text is not well-formed XML. */
    public static final class XmlSyntaxError extends Exception {
        private final int line;

        XmlSyntaxError(int line, String message) {
            super(message);
            this.line = line;
        }

        public int line() {
            return line;
        }
    }

    public static int lineOf(Node node) {
        Object line = node.getUserData(LINE);
        return line instanceof Integer i ? i : 0;
    }

    public static Document parse(String text) throws XmlSyntaxError {
        try {
            Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().newDocument();
            SAXParserFactory factory = SAXParserFactory.newInstance();
            factory.setNamespaceAware(false);
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            factory.newSAXParser().parse(new InputSource(new StringReader(text)), new Builder(doc, text));
            return doc;
        } catch (SAXParseException e) {
            throw new XmlSyntaxError(e.getLineNumber(), e.getMessage());
        } catch (SAXException | ParserConfigurationException e) {
            throw new XmlSyntaxError(0, e.getMessage());
        } catch (IOException e) {
            throw new IllegalStateException("reading from a string cannot fail", e);
        }
    }

    private static final class Builder extends DefaultHandler {
        private final Document doc;
        private final String source;
        private final int[] lineStarts;
        private final Deque<Node> open = new ArrayDeque<>();
        private final StringBuilder text = new StringBuilder();
        private Locator locator;

        Builder(Document doc, String source) {
            this.doc = doc;
            this.source = source;
            this.lineStarts = source.lines().mapToInt(l -> l.length()).toArray();
            int offset = 0;
            for (int i = 0; i < lineStarts.length; i++) {
                int length = lineStarts[i];
                lineStarts[i] = offset;
                offset += length + 1;
            }
            open.push(doc);
        }

        /** SAX reports where a start tag ends; policies often spread one over many lines, so find where it starts. */
        private int startLine(String qName) {
            int line = locator.getLineNumber();
            int column = locator.getColumnNumber();
            if (line < 1 || line > lineStarts.length) {
                return line;
            }
            int offset = Math.min(source.length(), lineStarts[line - 1] + Math.max(0, column - 1));
            int start = source.lastIndexOf("<" + qName, offset);
            if (start < 0) {
                return line;
            }
            int startLine = 1;
            for (int i = 0; i < start; i++) {
                if (source.charAt(i) == '\n') {
                    startLine++;
                }
            }
            return startLine;
        }

        @Override
        public void setDocumentLocator(Locator locator) {
            this.locator = locator;
        }

        @Override
        public void startElement(String uri, String localName, String qName, Attributes attributes) {
            flushText();
            Element element = doc.createElement(qName);
            for (int i = 0; i < attributes.getLength(); i++) {
                element.setAttribute(attributes.getQName(i), attributes.getValue(i));
            }
            element.setUserData(LINE, startLine(qName), null);
            open.peek().appendChild(element);
            open.push(element);
        }

        @Override
        public void endElement(String uri, String localName, String qName) {
            flushText();
            open.pop();
        }

        @Override
        public void characters(char[] ch, int start, int length) {
            text.append(ch, start, length);
        }

        private void flushText() {
            if (!text.isEmpty() && open.peek() != doc) {
                open.peek().appendChild(doc.createTextNode(text.toString()));
            }
            text.setLength(0);
        }
    }
}
