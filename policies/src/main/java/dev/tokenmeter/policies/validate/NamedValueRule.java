package dev.tokenmeter.policies.validate;

import dev.tokenmeter.policies.manifest.ManifestLoader;
import dev.tokenmeter.policies.manifest.PolicySetManifest;
import dev.tokenmeter.policies.set.PolicyFile;
import dev.tokenmeter.policies.set.PolicySet;
import dev.tokenmeter.policies.source.NamedValueRef;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Every {@code {{name}}} used is declared (APIM refuses to save a policy naming a missing named value, and the CLI
 * creates exactly the declared ones), and declared names are ours ({@code tokenmeter-...}) and have a default.
 */
final class NamedValueRule implements Rule {

    /** APIM named-value names: letters, digits, '.', '-', '_'; ours are prefixed so they never clash with others. */
    private static final Pattern NAME = Pattern.compile("tokenmeter-[A-Za-z0-9._-]+");

    @Override
    public List<Finding> check(PolicySet set) {
        List<Finding> findings = new ArrayList<>();
        for (PolicySetManifest.NamedValueDecl value : set.manifest().namedValues()) {
            if (value.name() == null || !NAME.matcher(value.name()).matches()) {
                findings.add(new Finding(ManifestLoader.FILE_NAME, 0, RuleId.NAMED_VALUE_NAME, "named value '"
                        + value.name() + "' is not named tokenmeter-...", "rename it tokenmeter-<what it configures>"));
            }
            if (value.defaultValue() == null && !value.secret()) {
                findings.add(new Finding(ManifestLoader.FILE_NAME, 0, RuleId.NAMED_VALUE_NAME, "named value '"
                        + value.name() + "' has no default", "give it a default (only secrets may go without)"));
            }
        }
        for (PolicyFile file : set.files()) {
            if (file.source() == null) {
                continue;
            }
            for (NamedValueRef ref : file.source().namedValues()) {
                if (set.manifest().namedValue(ref.name()).isEmpty()) {
                    findings.add(new Finding(file.path(), ref.line(), RuleId.NAMED_VALUE_DECLARED, "named value {{"
                            + ref.name() + "}} is not declared", "declare it under namedValues in "
                            + ManifestLoader.FILE_NAME + " (name, meaning, default, secret) or correct the name"));
                }
            }
        }
        return findings;
    }
}
