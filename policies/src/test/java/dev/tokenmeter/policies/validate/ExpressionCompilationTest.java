package dev.tokenmeter.policies.validate;

import dev.tokenmeter.policies.PolicySetDir;
import dev.tokenmeter.policies.harness.MonoRequired;
import dev.tokenmeter.policies.set.PolicySet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static dev.tokenmeter.policies.PolicySetDir.lineOf;
import static org.assertj.core.api.Assertions.assertThat;

/** Validation compiles every expression with Mono's C# compiler and reports errors at the policy file's line and column. */
class ExpressionCompilationTest {

    static final String LIMITS = "fragments/tokenmeter-limits.xml";

    @TempDir
    Path dir;

    Map<String, String> environment() {
        MonoRequired.toolchain();
        Map<String, String> env = new HashMap<>(System.getenv());
        env.put("TOKENMETER_CACHE_DIR", dir.resolve("cache").toString());
        env.remove("CI");
        return env;
    }

    @Test
    void theShippedSetCompilesClean() {
        ValidationResult result = PolicySetValidator.validate(PolicySetDir.shipped(), ExpressionCompilation.fromEnvironment(environment()));
        assertThat(result.findings()).extracting(Finding::format).isEmpty();
        assertThat(result.notes()).isEmpty();
        int expressions = PolicySet.load(PolicySetDir.shipped()).expressions().size();
        assertThat(expressions).isGreaterThan(50);
        assertThat(result).isInstanceOfSatisfying(ValidationResult.Passed.class,
                p -> assertThat(p.expressionsCompiled()).isEqualTo(expressions));
    }

    @Test
    void aTypeErrorInAFragmentIsReportedAtItsLineAndColumn() throws Exception {
        Path set = Files.createDirectory(dir.resolve("set"));
        PolicySetDir.copyTo(set);
        // an int where the counter key must be a string: well-formed XML, valid for every other rule, refused by C#
        PolicySetDir.edit(set, LIMITS, "<fragment>\n", "<fragment>\n\t<set-variable name=\"tm-broken\" value=\"@{\n"
                + "\t\tint tokens = context.Request.Method;\n\t\treturn tokens;\n\t}\" />\n");
        int line = lineOf(set, LIMITS, "int tokens");
        String text = Files.readAllLines(set.resolve(LIMITS)).get(line - 1);

        ValidationResult result = PolicySetValidator.validate(set, ExpressionCompilation.fromEnvironment(environment()));

        assertThat(result.passed()).isFalse();
        assertThat(result.findings()).singleElement().satisfies(f -> {
            assertThat(f.ruleId()).isEqualTo(RuleId.EXPRESSION_COMPILES);
            // the second line of the expression; mcs places the error at the member access's name, Method
            assertThat(f.location()).isEqualTo(LIMITS + ":" + line + ":" + (text.indexOf("Method") + 1));
            assertThat(f.message()).contains("CS0029", "string", "int");
        });
    }

    @Test
    void membersApimDoesNotAllowAreFindingsAtTheExpression() throws Exception {
        Path set = Files.createDirectory(dir.resolve("set"));
        PolicySetDir.copyTo(set);
        PolicySetDir.edit(set, LIMITS, "<fragment>\n", "<fragment>\n\t<set-variable name=\"tm-home\" value=\"@(Environment.GetEnvironmentVariable(&quot;HOME&quot;))\" />\n");
        PolicySetDir.edit(set, LIMITS, "(&quot;HOME&quot;)", "(\"HOME\")");
        int line = lineOf(set, LIMITS, "tm-home");
        String text = Files.readAllLines(set.resolve(LIMITS)).get(line - 1);

        ValidationResult result = PolicySetValidator.validate(set, ExpressionCompilation.fromEnvironment(environment()));

        assertThat(result.findings()).singleElement().satisfies(f -> {
            assertThat(f.ruleId()).isEqualTo(RuleId.EXPRESSION_TYPES);
            assertThat(f.location()).isEqualTo(LIMITS + ":" + line + ":" + (text.indexOf("@(") + 1));
            assertThat(f.message()).startsWith("System.Environment.GetEnvironmentVariable is not among");
        });
    }

    @Test
    void withoutTheCompilerTheOtherRulesStillRunAndANoteSaysSo() throws Exception {
        Path set = Files.createDirectory(dir.resolve("set"));
        PolicySetDir.copyTo(set);
        Map<String, String> noMono = Map.of("PATH", Files.createDirectory(dir.resolve("empty-bin")).toString());

        ValidationResult result = PolicySetValidator.validate(set, ExpressionCompilation.fromEnvironment(noMono));

        assertThat(result.passed()).isTrue();
        assertThat(result.notes()).singleElement().asString()
                .startsWith("expressions not compiled: mcs, mono or Newtonsoft.Json not found")
                .contains("apt-get install -y mono-mcs libnewtonsoft-json-cil-dev")
                .doesNotContain("\n");

        PolicySetDir.edit(set, LIMITS, "<fragment>\n", "<fragment>\n\t<bogus-policy />\n");
        assertThat(PolicySetValidator.validate(set, ExpressionCompilation.fromEnvironment(noMono)).findings())
                .extracting(Finding::ruleId).containsExactly(RuleId.UNKNOWN_POLICY);
    }

    @Test
    void underCiAMissingCompilerIsAFinding() throws Exception {
        Path set = Files.createDirectory(dir.resolve("set"));
        PolicySetDir.copyTo(set);
        Map<String, String> ciWithoutMono = Map.of("PATH", Files.createDirectory(dir.resolve("empty-bin")).toString(), "CI", "true");

        ValidationResult result = PolicySetValidator.validate(set, ExpressionCompilation.fromEnvironment(ciWithoutMono));

        assertThat(result.passed()).isFalse();
        assertThat(result.findings()).singleElement().satisfies(f -> {
            assertThat(f.ruleId()).isEqualTo(RuleId.EXPRESSION_COMPILER);
            assertThat(f.message()).contains("CI=true");
        });
    }
}
