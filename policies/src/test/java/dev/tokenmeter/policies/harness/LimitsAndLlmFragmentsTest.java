package dev.tokenmeter.policies.harness;

import dev.tokenmeter.policies.PolicySetDir;
import dev.tokenmeter.policies.set.PolicySet;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import dev.tokenmeter.usage.UsageRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static dev.tokenmeter.policies.harness.PolicyHarnessTest.OID;
import static dev.tokenmeter.policies.harness.PolicyHarnessTest.withToken;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The token limit turning a request away (both ways APIM might do it), and the llm-* variants of the limits and
 * metrics fragments run in an API policy of their own, the way a platform team would compose them for a
 * non-Azure-OpenAI LLM API.
 */
class LimitsAndLlmFragmentsTest {

    @TempDir
    static Path llmSet;

    static HarnessFixture shipped;
    static HarnessFixture llm;
    static OpenMeterContractServer openmeter;

    @BeforeAll
    static void start() {
        openmeter = OpenMeterContractServer.start().route("GET", "/api/v2/customers/[^/]+/entitlements/[^/]+/value",
                request -> OpenMeterContractServer.Reply.json(200, "{\"hasAccess\":true}"));
        shipped = new HarnessFixture(PolicySet.load(PolicySetDir.shipped()));
        PolicySetDir.copyTo(llmSet);
        PolicySetDir.edit(llmSet, PolicyHarnessTest.API, "fragment-id=\"tokenmeter-limits\"", "fragment-id=\"tokenmeter-limits-llm\"");
        PolicySetDir.edit(llmSet, PolicyHarnessTest.API, "fragment-id=\"tokenmeter-token-metrics\"", "fragment-id=\"tokenmeter-token-metrics-llm\"");
        llm = new HarnessFixture(PolicySet.load(llmSet));
        assertThat(llm.typeViolations()).isEmpty();
    }

    @AfterAll
    static void stop() {
        if (openmeter != null) {
            openmeter.close();
            assertThat(openmeter.violations()).isEmpty();
        }
        for (HarnessFixture f : new HarnessFixture[] {shipped, llm}) {
            if (f != null) {
                f.close();
            }
        }
    }

    static PolicyRunner runner(HarnessFixture fixture) {
        return fixture.runner(openmeter.baseUri());
    }

    @Test
    void overTheTokenLimitIsA429ThatNeverReachesTheBackendAndBillsNothing() {
        for (Scenario.LimitRejection how : Scenario.LimitRejection.values()) {
            Outcome outcome = runner(shipped).run(withToken(PolicyHarnessTest.azureChat("over-limit-" + how)).estimatedTokens(10_001).limitRejection(how));
            assertThat(outcome.status()).as(how.name()).isEqualTo(429);
            assertThat(outcome.reachedBackend()).isFalse();
            assertThat(outcome.counterKeys()).containsExactly(OID);
            // a record, if APIM runs on-error for it, is a valid zero-token error record; never a billed one
            outcome.eventHubMessages().forEach(m -> {
                UsageRecord r = UsageRecords.v2(m);
                assertThat(r.status()).isEqualTo(429);
                assertThat(r.totalTokens()).isZero();
                assertThat(r.usageSource()).isEqualTo("none");
            });
            if (how == Scenario.LimitRejection.RESPONSE) {
                assertThat(outcome.responseHeaders()).containsEntry("Retry-After", List.of("60"));
                assertThat(outcome.eventHubMessages()).isEmpty();
            } else {
                assertThat(outcome.eventHubMessages()).hasSize(1);
            }
        }
    }

    @Test
    void theLlmVariantsKeyTheLimitAndTheMetricByTheUser() {
        Outcome outcome = runner(llm).run(withToken(PolicyHarnessTest.azureChat("llm-chat")).estimatedTokens(40));
        assertThat(outcome.errors()).isEmpty();
        assertThat(outcome.status()).isEqualTo(200);
        assertThat(outcome.counterKeys()).containsExactly(OID);
        assertThat(outcome.metrics()).singleElement().satisfies(m -> {
            assertThat(m.policy()).isEqualTo("llm-emit-token-metric");
            assertThat(m.dimensions()).containsEntry("User", OID).containsEntry("Deployment", "gpt-4o-prod").hasSizeLessThanOrEqualTo(10);
        });
        assertThat(outcome.responseHeaders()).containsEntry("x-tokenmeter-remaining-tokens", List.of("9960"));
        UsageRecord r = UsageRecords.v2(outcome.eventHubMessages().get(0));
        assertThat(r.usageSource()).isEqualTo("reported");
        assertThat(r.totalTokens()).isEqualTo(590);
    }

    @Test
    void theLlmVariantsEstimateAStreamWhicheverTypeTheConsumedTokensHave() {
        for (Scenario.ConsumedAs type : Scenario.ConsumedAs.values()) {
            Outcome outcome = runner(llm).run(withToken(PolicyHarnessTest.streamedChat("llm-stream-" + type)).estimatedTokens(33).consumedAs(type));
            assertThat(outcome.errors()).isEmpty();
            assertThat(outcome.streamBuffered()).isFalse();
            UsageRecord r = UsageRecords.v2(outcome.eventHubMessages().get(0));
            assertThat(r.usageSource()).isEqualTo("estimated");
            assertThat(r.totalTokens()).isEqualTo(33);
        }
    }
}
