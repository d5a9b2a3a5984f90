package dev.tokenmeter.policies.validate;

import dev.tokenmeter.policies.manifest.ManifestLoader;
import dev.tokenmeter.policies.manifest.PolicySetManifest;
import dev.tokenmeter.policies.set.PolicyFile;
import dev.tokenmeter.policies.set.PolicySet;
import dev.tokenmeter.policies.source.LineNumberedXml;
import org.w3c.dom.Element;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Elements only where APIM allows them: sections only under {@code <policies>}, {@code <base/>} only directly in a
 * section of a policy document, each policy only in its sections and scopes, every {@code include-fragment}
 * resolving to a declared fragment meant for that section. Fragments are checked in every section they are
 * included in, and in the sections the manifest declares for them.
 */
final class SectionRule implements Rule {

    @Override
    public List<Finding> check(PolicySet set) {
        List<Finding> findings = new ArrayList<>();
        for (PolicySetManifest.PolicyDecl policy : set.manifest().policies()) {
            Optional<PolicyFile> file = set.file(policy.file()).filter(PolicyFile::readable);
            if (file.isEmpty()) {
                continue;
            }
            Element root = file.get().document().getDocumentElement();
            if (!root.getTagName().equals("policies")) {
                continue;
            }
            for (Element section : Dom.children(root)) {
                if (!PolicyCatalog.SECTIONS.contains(section.getTagName())) {
                    findings.add(new Finding(file.get().path(), LineNumberedXml.lineOf(section), RuleId.SECTION,
                            "<" + section.getTagName() + "> is not a policy section",
                            "use one of <inbound>, <backend>, <outbound>, <on-error>"));
                    continue;
                }
                checkChildren(set, file.get(), section, section.getTagName(), policy.scope(), true, findings, new ArrayList<>());
            }
        }
        for (PolicySetManifest.FragmentDecl fragment : set.manifest().fragments()) {
            Optional<PolicyFile> file = set.file(fragment.file()).filter(PolicyFile::readable);
            if (file.isEmpty() || !file.get().document().getDocumentElement().getTagName().equals("fragment")) {
                continue;
            }
            for (String section : fragment.sections()) {
                if (!PolicyCatalog.SECTIONS.contains(section)) {
                    findings.add(new Finding(ManifestLoader.FILE_NAME, 0, RuleId.SECTION, "fragment " + fragment.id()
                            + " declares section '" + section + "'", "use inbound, backend, outbound or on-error"));
                    continue;
                }
                checkChildren(set, file.get(), file.get().document().getDocumentElement(), section, null, false,
                        findings, new ArrayList<>(List.of(fragment.id())));
            }
        }
        return findings.stream().distinct().toList();
    }

    private void checkChildren(PolicySet set, PolicyFile file, Element parent, String section, String scope,
                               boolean directlyInSection, List<Finding> findings, List<String> including) {
        for (Element element : Dom.children(parent)) {
            String name = element.getTagName();
            int line = LineNumberedXml.lineOf(element);
            if (name.equals("base")) {
                if (!directlyInSection || file.kind() != PolicyFile.Kind.POLICY) {
                    findings.add(new Finding(file.path(), line, RuleId.SECTION,
                            "<base/> is only allowed directly inside a section of a policy document",
                            "move <base/> to the section of the policy that includes this"));
                }
                continue;
            }
            if (name.equals("when") || name.equals("otherwise")) {
                if (!"choose".equals(((Element) element.getParentNode()).getTagName())) {
                    findings.add(new Finding(file.path(), line, RuleId.SECTION, "<" + name + "> outside <choose>",
                            "put it inside a <choose>"));
                }
                checkChildren(set, file, element, section, scope, false, findings, including);
                continue;
            }
            if (!PolicyCatalog.known(name)) {
                findings.add(new Finding(file.path(), line, RuleId.UNKNOWN_POLICY, "<" + name + "> is not an APIM policy this validator knows",
                        "check the spelling against the APIM policy reference"));
                continue;
            }
            if (!PolicyCatalog.sections(name).contains(section)) {
                findings.add(new Finding(file.path(), line, RuleId.SECTION, "<" + name + "> is not allowed in the "
                        + section + " section", "move it to one of " + PolicyCatalog.sections(name).stream().sorted().toList()));
            }
            if (!PolicyCatalog.allowedAtScope(name, scope)) {
                findings.add(new Finding(file.path(), line, RuleId.SCOPE, "<" + name + "> is not allowed at " + scope + " scope",
                        "apply this policy at another scope"));
            }
            if (name.equals("include-fragment")) {
                checkInclude(set, file, element, section, scope, findings, including);
            } else if (PolicyCatalog.CONTAINERS.contains(name)) {
                checkChildren(set, file, element, section, scope, false, findings, including);
            }
        }
    }

    private void checkInclude(PolicySet set, PolicyFile file, Element include, String section, String scope,
                              List<Finding> findings, List<String> including) {
        String id = include.getAttribute("fragment-id");
        int line = LineNumberedXml.lineOf(include);
        Optional<PolicySetManifest.FragmentDecl> decl = set.manifest().fragment(id);
        if (decl.isEmpty()) {
            findings.add(new Finding(file.path(), line, RuleId.FRAGMENT_RESOLVES, "include-fragment '" + id
                    + "' names no fragment declared in " + ManifestLoader.FILE_NAME,
                    "declare the fragment in " + ManifestLoader.FILE_NAME + " or correct fragment-id"));
            return;
        }
        if (!decl.get().sections().contains(section)) {
            findings.add(new Finding(file.path(), line, RuleId.SECTION, "fragment '" + id + "' is meant for "
                    + decl.get().sections() + ", not " + section, "include it in " + decl.get().sections()));
        }
        if (including.contains(id)) {
            findings.add(new Finding(file.path(), line, RuleId.FRAGMENT_RESOLVES, "fragment '" + id + "' includes itself",
                    "remove the recursive include-fragment"));
            return;
        }
        Optional<PolicyFile> fragment = set.file(decl.get().file()).filter(PolicyFile::readable);
        if (fragment.isPresent() && fragment.get().document().getDocumentElement().getTagName().equals("fragment")) {
            including.add(id);
            checkChildren(set, fragment.get(), fragment.get().document().getDocumentElement(), section, scope, false,
                    findings, including);
            including.remove(id);
        }
    }
}
