package dev.tokenmeter.policies.validate;

import dev.tokenmeter.policies.manifest.ManifestLoader;
import dev.tokenmeter.policies.set.PolicySet;

import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;

/**
 * Offline validation of a policy set, the checks APIM would make on deployment and a few it would not (declared
 * named values and loggers, the 5-dimension limit, version stamps). What the CLI calls.
 */
public final class PolicySetValidator {

    private static final List<Rule> RULES = List.of(
            new SourceRule(), new SectionRule(), new NamedValueRule(), new LogToEventHubRule(),
            new MetricDimensionRule(), new VersionRule());

    private PolicySetValidator() {
    }

    /** Loads {@code policySetDir/policy-set.json} and everything it declares, and checks it all. */
    public static ValidationResult validate(Path policySetDir) {
        PolicySet set;
        try {
            set = PolicySet.load(policySetDir);
        } catch (ManifestLoader.ManifestException e) {
            return new ValidationResult.Failed(List.of(new Finding(ManifestLoader.FILE_NAME, 0, RuleId.MANIFEST,
                    e.getMessage(), "fix " + ManifestLoader.FILE_NAME + " (see docs/policies.md for its fields)")));
        }
        return validate(set);
    }

    public static ValidationResult validate(PolicySet set) {
        List<Finding> findings = RULES.stream()
                .flatMap(rule -> rule.check(set).stream())
                .distinct()
                .sorted(Comparator.comparing(Finding::file).thenComparingInt(Finding::line).thenComparing(Finding::ruleId))
                .toList();
        return findings.isEmpty() ? new ValidationResult.Passed(set.files().size()) : new ValidationResult.Failed(findings);
    }
}
