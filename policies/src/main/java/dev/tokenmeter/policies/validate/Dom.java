package dev.tokenmeter.policies.validate;

import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

import java.util.ArrayList;
import java.util.List;

/** Small DOM helpers: the JDK's NodeList is awkward to stream. */
final class Dom {

    private Dom() {
    }

    static List<Element> children(Node parent) {
        List<Element> out = new ArrayList<>();
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e) {
                out.add(e);
            }
        }
        return out;
    }

    static List<Element> all(Document doc) {
        List<Element> out = new ArrayList<>();
        collect(doc.getDocumentElement(), out);
        return out;
    }

    private static void collect(Element e, List<Element> out) {
        if (e == null) {
            return;
        }
        out.add(e);
        for (Element child : children(e)) {
            collect(child, out);
        }
    }
}
