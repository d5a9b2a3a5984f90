package dev.tokenmeter.policies.validate;

import dev.tokenmeter.policies.manifest.ManifestLoader;
import dev.tokenmeter.policies.set.PolicyFile;
import dev.tokenmeter.policies.set.PolicySet;
import dev.tokenmeter.policies.source.SourceProblem;

import java.util.ArrayList;
import java.util.List;

/** Every declared file exists, its expressions are closed, and once they are masked it is well-formed XML with the right root. */
final class SourceRule implements Rule {

    @Override
    public List<Finding> check(PolicySet set) {
        List<Finding> findings = new ArrayList<>();
        for (PolicyFile file : set.files()) {
            if (file.missing()) {
                findings.add(new Finding(ManifestLoader.FILE_NAME, 0, RuleId.FRAGMENT_RESOLVES,
                        "declared file " + file.path() + " does not exist",
                        "create " + file.path() + " or correct its path in " + ManifestLoader.FILE_NAME));
                continue;
            }
            for (SourceProblem problem : file.source().problems()) {
                findings.add(new Finding(file.path(), problem.line(), RuleId.EXPRESSION_SYNTAX, problem.message(),
                        "balance the brackets of the expression (C# strings and comments are skipped when counting)"));
            }
            if (file.syntaxError() != null) {
                findings.add(new Finding(file.path(), file.syntaxError().line(), RuleId.WELL_FORMED,
                        "not well-formed XML once expressions and named values are masked: " + file.syntaxError().getMessage(),
                        "fix the XML around the expressions (every element closed, attributes quoted)"));
                continue;
            }
            String root = file.document().getDocumentElement().getTagName();
            String expected = file.kind() == PolicyFile.Kind.FRAGMENT ? "fragment" : "policies";
            if (!root.equals(expected)) {
                findings.add(new Finding(file.path(), 1, RuleId.DOCUMENT_ROOT,
                        "root element is <" + root + ">, a " + file.kind().name().toLowerCase() + " file needs <" + expected + ">",
                        "wrap the content in <" + expected + ">...</" + expected + ">"));
            }
        }
        return findings;
    }
}
