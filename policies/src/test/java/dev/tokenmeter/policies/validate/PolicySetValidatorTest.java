package dev.tokenmeter.policies.validate;

import dev.tokenmeter.policies.PolicySetDir;
import dev.tokenmeter.policies.render.PolicyRenderer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.tokenmeter.policies.PolicySetDir.edit;
import static dev.tokenmeter.policies.PolicySetDir.lineOf;
import static org.assertj.core.api.Assertions.assertThat;

class PolicySetValidatorTest {

    static final String USAGE_LOG = "fragments/tokenmeter-usage-log.xml";
    static final String METRICS = "fragments/tokenmeter-token-metrics.xml";
    static final String STREAM = "fragments/tokenmeter-stream-usage.xml";
    static final String API = "apis/azure-openai.xml";
    static final String MANIFEST = "policy-set.json";

    @TempDir
    Path dir;

    @Test
    void theShippedPolicySetPasses() {
        ValidationResult result = PolicySetValidator.validate(PolicySetDir.shipped());
        assertThat(result.findings()).extracting(Finding::format).isEmpty();
        assertThat(result).isInstanceOfSatisfying(ValidationResult.Passed.class, p -> assertThat(p.filesChecked()).isEqualTo(10));
    }

    @Test
    void unclosedExpressionIsReportedAtItsLine() {
        PolicySetDir.copyTo(dir);
        edit(dir, USAGE_LOG, "partition-key=\"@(context.RequestId.ToString())\"", "partition-key=\"@(context.RequestId.ToString()\"");
        assertFinding(USAGE_LOG, lineOf(dir, USAGE_LOG, "partition-key="), RuleId.EXPRESSION_SYNTAX);
    }

    @Test
    void xmlThatIsNotWellFormedAroundTheExpressions() {
        PolicySetDir.copyTo(dir);
        edit(dir, STREAM, "\t\t</when>\n\t</choose>", "\t\t</when>\n");
        assertFinding(STREAM, lineOf(dir, STREAM, "</fragment>"), RuleId.WELL_FORMED);
    }

    @Test
    void fragmentFileWithoutFragmentRoot() {
        PolicySetDir.copyTo(dir);
        edit(dir, METRICS, "<fragment>", "<policies>");
        edit(dir, METRICS, "</fragment>", "</policies>");
        assertFinding(METRICS, 1, RuleId.DOCUMENT_ROOT);
    }

    @Test
    void policyInASectionWhereApimRefusesIt() {
        PolicySetDir.copyTo(dir);
        edit(dir, API, "\t\t<include-fragment fragment-id=\"tokenmeter-usage-log\" />\n\t</outbound>",
                "\t\t<include-fragment fragment-id=\"tokenmeter-usage-log\" />\n\t\t<validate-jwt header-name=\"Authorization\" />\n\t</outbound>");
        assertFinding(API, lineOf(dir, API, "<validate-jwt"), RuleId.SECTION);
    }

    @Test
    void fragmentIncludedInTheWrongSectionIsCheckedThere() {
        PolicySetDir.copyTo(dir);
        edit(dir, API, "\t<backend>\n", "\t<backend>\n\t\t<include-fragment fragment-id=\"tokenmeter-limits\" />\n");
        ValidationResult result = PolicySetValidator.validate(dir);
        assertThat(result.findings()).anySatisfy(f -> {
            assertThat(f.file()).isEqualTo(API);
            assertThat(f.ruleId()).isEqualTo(RuleId.SECTION);
            assertThat(f.message()).contains("tokenmeter-limits", "not backend");
        });
        // and the token limit inside the fragment is reported where it is written
        assertThat(result.findings()).anySatisfy(f -> {
            assertThat(f.file()).isEqualTo("fragments/tokenmeter-limits.xml");
            assertThat(f.message()).contains("<azure-openai-token-limit> is not allowed in the backend section");
        });
    }

    @Test
    void baseInsideAFragment() {
        PolicySetDir.copyTo(dir);
        edit(dir, METRICS, "<fragment>\n", "<fragment>\n\t<base />\n");
        assertFinding(METRICS, lineOf(dir, METRICS, "<base />"), RuleId.SECTION);
    }

    @Test
    void misspelledPolicy() {
        PolicySetDir.copyTo(dir);
        edit(dir, USAGE_LOG, "<set-variable name=\"tm-policy-version\"", "<set-varaible name=\"tm-policy-version\"");
        assertFinding(USAGE_LOG, lineOf(dir, USAGE_LOG, "<set-varaible"), RuleId.UNKNOWN_POLICY);
    }

    @Test
    void policyAtAScopeApimRefuses() {
        PolicySetDir.copyTo(dir);
        edit(dir, MANIFEST, "\"scope\": \"api\"", "\"scope\": \"global\"");
        edit(dir, API, "\t\t<authentication-managed-identity", "\t\t<quota calls=\"10\" renewal-period=\"60\" />\n\t\t<authentication-managed-identity");
        assertFinding(API, lineOf(dir, API, "<quota"), RuleId.SCOPE);
    }

    @Test
    void includeOfAnUndeclaredFragment() {
        PolicySetDir.copyTo(dir);
        edit(dir, API, "fragment-id=\"tokenmeter-token-metrics\"", "fragment-id=\"tokenmeter-token-metric\"");
        assertFinding(API, lineOf(dir, API, "tokenmeter-token-metric\""), RuleId.FRAGMENT_RESOLVES);
    }

    @Test
    void declaredFragmentFileMissing() throws Exception {
        PolicySetDir.copyTo(dir);
        Files.delete(dir.resolve(METRICS));
        assertFinding(MANIFEST, 0, RuleId.FRAGMENT_RESOLVES);
    }

    @Test
    void undeclaredNamedValue() {
        PolicySetDir.copyTo(dir);
        edit(dir, METRICS, "{{tokenmeter-metric-namespace}}", "{{tokenmeter-metrics-namespace}}");
        assertFinding(METRICS, lineOf(dir, METRICS, "{{tokenmeter-metrics-namespace}}"), RuleId.NAMED_VALUE_DECLARED);
    }

    @Test
    void namedValueNotOurs() {
        PolicySetDir.copyTo(dir);
        edit(dir, MANIFEST, "\"name\": \"tokenmeter-log-errors\"", "\"name\": \"log-errors\"");
        ValidationResult result = PolicySetValidator.validate(dir);
        assertThat(result.findings()).extracting(Finding::ruleId).contains(RuleId.NAMED_VALUE_NAME, RuleId.NAMED_VALUE_DECLARED);
    }

    @Test
    void undeclaredLogger() {
        PolicySetDir.copyTo(dir);
        edit(dir, USAGE_LOG, "logger-id=\"tokenmeter-usage\"", "logger-id=\"usage\"");
        assertFinding(USAGE_LOG, lineOf(dir, USAGE_LOG, "logger-id="), RuleId.LOGGER_DECLARED);
    }

    @Test
    void partitionIdAndKeyTogether() {
        PolicySetDir.copyTo(dir);
        edit(dir, USAGE_LOG, "logger-id=\"tokenmeter-usage\"", "logger-id=\"tokenmeter-usage\" partition-id=\"0\"");
        assertFinding(USAGE_LOG, lineOf(dir, USAGE_LOG, "logger-id="), RuleId.PARTITION_EXCLUSIVE);
    }

    @Test
    void tenMetricDimensionsPassAndElevenAreRefused() {
        PolicySetDir.copyTo(dir);
        // the shipped 4 plus 6 more: 10, the documented maximum
        edit(dir, METRICS, "\t\t<dimension name=\"API ID\" />", "\t\t<dimension name=\"API ID\" />\n\t\t<dimension name=\"Operation ID\" />"
                + "\n\t\t<dimension name=\"Product ID\" />\n\t\t<dimension name=\"User ID\" />\n\t\t<dimension name=\"Location\" />"
                + "\n\t\t<dimension name=\"Gateway ID\" />\n\t\t<dimension name=\"Kind\" value=\"chat\" />");
        assertThat(PolicySetValidator.validate(dir).findings()).as("10 dimensions").isEmpty();
        edit(dir, METRICS, "\t\t<dimension name=\"Kind\" value=\"chat\" />", "\t\t<dimension name=\"Kind\" value=\"chat\" />\n\t\t<dimension name=\"Extra\" value=\"x\" />");
        assertFinding(METRICS, lineOf(dir, METRICS, "<azure-openai-emit-token-metric"), RuleId.METRIC_DIMENSIONS);
    }

    @Test
    void versionBumpedInTheManifestOnly() {
        PolicySetDir.copyTo(dir);
        // the shipped version, whatever it is, bumped in the manifest alone
        String shipped = dev.tokenmeter.policies.set.PolicySet.load(dir).manifest().version();
        String[] parts = shipped.split("\\.");
        String next = parts[0] + "." + (Integer.parseInt(parts[1]) + 1) + ".0";
        edit(dir, MANIFEST, "\"version\": \"" + shipped + "\"", "\"version\": \"" + next + "\"");
        ValidationResult result = PolicySetValidator.validate(dir);
        assertThat(result.findings()).filteredOn(f -> f.ruleId().equals(RuleId.VERSION_STAMP))
                .extracting(Finding::file, Finding::line)
                .contains(org.assertj.core.groups.Tuple.tuple(USAGE_LOG, lineOf(dir, USAGE_LOG, "\"tm-policy-version\"")),
                        org.assertj.core.groups.Tuple.tuple(MANIFEST, 0));
    }

    @Test
    void unreadableManifest() throws Exception {
        PolicySetDir.copyTo(dir);
        Files.writeString(dir.resolve(MANIFEST), "{ \"name\": ");
        assertFinding(MANIFEST, 0, RuleId.MANIFEST);
    }

    @Test
    void findingsCarryWhatToDo() {
        PolicySetDir.copyTo(dir);
        edit(dir, USAGE_LOG, "logger-id=\"tokenmeter-usage\"", "logger-id=\"usage\"");
        Finding finding = PolicySetValidator.validate(dir).findings().get(0);
        assertThat(finding.format()).startsWith(USAGE_LOG + ":" + finding.line() + ": [logger-declared] logger-id 'usage'")
                .contains("Fix: use a logger declared under loggers in policy-set.json");
    }

    @Test
    void renderExpandsEveryFragmentAndKeepsExpressionsVerbatim() throws Exception {
        String rendered = PolicyRenderer.render(PolicySetDir.shipped(), API);
        assertThat(rendered).doesNotContain("include-fragment", "__tmx_")
                .contains("<azure-openai-token-limit counter-key=\"@(context.Variables.GetValueOrDefault<string>(\"tm-user-id\"))\"")
                .contains("{{tokenmeter-tokens-per-minute}}");
        String usageLog = Files.readString(PolicySetDir.shipped().resolve(USAGE_LOG));
        String logExpression = usageLog.substring(usageLog.indexOf("<log-to-eventhub"), usageLog.indexOf("</log-to-eventhub>"));
        // the usage log appears twice (outbound and on-error), each time exactly as written
        assertThat(rendered.split(java.util.regex.Pattern.quote(logExpression), -1)).hasSize(3);
    }

    private void assertFinding(String file, int line, String ruleId) {
        ValidationResult result = PolicySetValidator.validate(dir);
        assertThat(result).isInstanceOf(ValidationResult.Failed.class);
        assertThat(result.findings()).as(result.findings().stream().map(Finding::format).toList().toString())
                .anySatisfy(f -> {
                    assertThat(f.ruleId()).isEqualTo(ruleId);
                    assertThat(f.file()).isEqualTo(file);
                    assertThat(f.line()).isEqualTo(line);
                    assertThat(f.fix()).isNotBlank();
                });
    }
}
