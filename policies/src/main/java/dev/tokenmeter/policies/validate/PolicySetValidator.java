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

    private static final Comparator<Finding> ORDER = Comparator.comparing(Finding::file).thenComparingInt(Finding::line)
            .thenComparingInt(Finding::column).thenComparing(Finding::ruleId);

    private PolicySetValidator() {
    }

    /**
     * Loads {@code policySetDir/policy-set.json} and everything it declares, and checks it all, the expressions
     * with the C# compiler found in this process's environment ({@link ExpressionCompilation#fromEnvironment}).
     */
    public static ValidationResult validate(Path policySetDir) {
        return validate(policySetDir, ExpressionCompilation.fromEnvironment(System.getenv()));
    }

    /** The same with an explicit compilation step (the CLI's environment, a test's). */
    public static ValidationResult validate(Path policySetDir, ExpressionCompilation compilation) {
        PolicySet set;
        try {
            set = PolicySet.load(policySetDir);
        } catch (ManifestLoader.ManifestException e) {
            return new ValidationResult.Failed(List.of(new Finding(ManifestLoader.FILE_NAME, 0, RuleId.MANIFEST,
                    e.getMessage(), "fix " + ManifestLoader.FILE_NAME + " (see docs/policies.md for its fields)")));
        }
        ValidationResult rules = validate(set);
        ExpressionCompilation.Report compiled = compilation.check(set);
        List<Finding> findings = java.util.stream.Stream.concat(rules.findings().stream(), compiled.findings().stream())
                .sorted(ORDER).toList();
        return findings.isEmpty() ? new ValidationResult.Passed(set.files().size(), compiled.compiled(), compiled.notes())
                : new ValidationResult.Failed(findings, compiled.notes());
    }

    /** The rules alone, without compiling the expressions. */
    public static ValidationResult validate(PolicySet set) {
        List<Finding> findings = RULES.stream()
                .flatMap(rule -> rule.check(set).stream())
                .distinct()
                .sorted(ORDER)
                .toList();
        return findings.isEmpty() ? new ValidationResult.Passed(set.files().size()) : new ValidationResult.Failed(findings);
    }
}
