package dev.tokenmeter.policies.oracle;

import dev.tokenmeter.policies.PolicySetDir;
import dev.tokenmeter.policies.manifest.PolicySetManifest;
import dev.tokenmeter.policies.set.PolicyFile;
import dev.tokenmeter.policies.set.PolicySet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

import javax.xml.transform.OutputKeys;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The independent oracle: every policy and fragment of the set validates against Microsoft's public policy XSDs.
 * Expressions are masked (placeholders match the XSD's expression pattern) and named values take their declared
 * defaults. The XSD does not look inside choose/when/otherwise (processContents="skip"), so each branch's policies
 * are validated again as a section of their own.
 */
class PolicyXsdOracleTest {

    static ApimPolicyXsd xsd;
    static PolicySet set;

    @BeforeAll
    static void load() {
        xsd = new ApimPolicyXsd();
        set = PolicySet.load(PolicySetDir.shipped());
    }

    @TestFactory
    List<DynamicTest> everyPolicyAndFragmentValidates() {
        assertThat(set.files()).hasSize(set.manifest().fragments().size() + set.manifest().policies().size());
        List<DynamicTest> tests = new ArrayList<>();
        for (PolicyFile file : set.files()) {
            tests.add(DynamicTest.dynamicTest(file.path(), () -> {
                assertThat(file.readable()).as(file.path() + " parses").isTrue();
                List<String> documents = documentsToValidate(file);
                assertThat(documents).isNotEmpty();
                for (String doc : documents) {
                    assertThat(xsd.validate(doc)).as(file.path() + "\n" + doc).isEmpty();
                }
            }));
        }
        return tests;
    }

    @Test
    void theOracleRejectsABrokenPolicy() {
        String broken = "<policies><inbound><azure-openai-token-limit counter-key=\"k\" tokens-per-minute=\"lots\" "
                + "estimate-prompt-tokens=\"true\" /></inbound></policies>";
        assertThat(xsd.validate(broken)).anySatisfy(e -> assertThat(e).contains("lots"));
        String misspelt = "<policies><outbound><log-to-eventhub logger-id=\"x\" partition=\"1\">m</log-to-eventhub></outbound></policies>";
        assertThat(xsd.validate(misspelt)).anySatisfy(e -> assertThat(e).contains("partition"));
        assertThat(xsd.validate("<policies><inbound><base /><set-varable name=\"a\" value=\"b\" /></inbound></policies>"))
                .anySatisfy(e -> assertThat(e).contains("set-varable"));
    }

    private static List<String> documentsToValidate(PolicyFile file) {
        Function<String, String> defaults = name -> set.manifest().namedValue(name)
                .map(PolicySetManifest.NamedValueDecl::defaultValue).orElse(null);
        String masked = file.source().withNamedValues(defaults);
        List<String> docs = new ArrayList<>();
        if (file.kind() == PolicyFile.Kind.FRAGMENT) {
            String section = set.manifest().fragments().stream().filter(f -> f.file().equals(file.path()))
                    .findFirst().orElseThrow().section();
            docs.add(masked.replaceFirst("<fragment>", "<policies><" + section + ">")
                    .replaceFirst("</fragment>", "</" + section + "></policies>"));
        } else {
            docs.add(masked);
        }
        // branches of choose, which the XSD skips
        for (Element e : branches(file.document().getDocumentElement(), new ArrayList<>())) {
            StringBuilder body = new StringBuilder();
            for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
                body.append(serialize(n));
            }
            String withValues = dev.tokenmeter.policies.source.MaskedSource.substituteNamedValues(body.toString(), defaults);
            docs.add("<policies><inbound>" + withValues + "</inbound></policies>");
        }
        return docs;
    }

    private static List<Element> branches(Element e, List<Element> out) {
        for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element child) {
                if (child.getTagName().equals("when") || child.getTagName().equals("otherwise")) {
                    out.add(child);
                }
                branches(child, out);
            }
        }
        return out;
    }

    private static String serialize(Node node) {
        try {
            var transformer = TransformerFactory.newInstance().newTransformer();
            transformer.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, "yes");
            StringWriter out = new StringWriter();
            transformer.transform(new DOMSource(node), new StreamResult(out));
            return out.toString();
        } catch (javax.xml.transform.TransformerException e) {
            throw new IllegalStateException(e);
        }
    }
}
