package dev.tokenmeter.policies.harness;

import dev.tokenmeter.policies.PolicySetDir;
import dev.tokenmeter.policies.set.PolicySet;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static dev.tokenmeter.policies.harness.PolicyHarnessTest.BASE;
import static dev.tokenmeter.policies.harness.PolicyHarnessTest.withToken;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Time the example policy's chain takes per request in the harness (expressions on Mono, the walk in Java, the
 * entitlement answer cached), for a typical chat request and 1 MiB and 8 MiB bodies, streamed and not. Not a test
 * (surefire's naming leaves it out); run it with
 * {@code ./mvnw -B -q -pl testkit,policies verify -Dtest=GatewayOverheadBenchmark -Dsurefire.failIfNoSpecifiedTests=false}.
 * It measures the harness, not APIM's gateway: the figures compare body sizes and stream modes with each other.
 */
class GatewayOverheadBenchmark {

    static final int WARMUP = 5;
    static final int RUNS = 20;

    @Test
    void overheadPerRequest() {
        try (HarnessFixture fixture = new HarnessFixture(PolicySet.load(PolicySetDir.shipped()));
             OpenMeterContractServer openmeter = OpenMeterContractServer.start()
                     .route("GET", "/api/v2/customers/[^/]+/entitlements/[^/]+/value", r -> OpenMeterContractServer.Reply.json(200, "{\"hasAccess\":true}"))) {
            PolicyRunner runner = new PolicyRunner(fixture.set, PolicyHarnessTest.API, fixture.host,
                    Map.of("tokenmeter-openmeter-url", openmeter.baseUri().toString()), new ApimCache());
            Map<String, Integer> sizes = new LinkedHashMap<>();
            sizes.put("typical chat", 0);
            sizes.put("1 MiB", 1 << 20);
            sizes.put("8 MiB", 8 << 20);
            System.out.println("| request | not streamed (median ms) | streamed (median ms) |");
            System.out.println("|---|---|---|");
            for (var size : sizes.entrySet()) {
                String content = size.getValue() == 0 ? "Tell me a joke about gateways." : "a".repeat(size.getValue());
                double plain = median(runner, chat(content, false));
                double streamed = median(runner, chat(content, true));
                System.out.printf("| %s | %.1f | %.1f |%n", size.getKey(), plain, streamed);
            }
        }
    }

    static Scenario chat(String content, boolean stream) {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]" + (stream ? ",\"stream\":true" : "") + "}";
        Scenario s = Scenario.post("bench-" + stream + content.length(), BASE + "/deployments/gpt-4o/chat/completions?api-version=2024-10-21", body);
        return withToken(stream
                ? s.backend(new Scenario.Backend.Responds(200, "text/event-stream", ReferenceExamples.recordedSseBody())).estimatedTokens(21)
                : s.backend(new Scenario.Backend.Responds(200, "application/json",
                        "{\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o\",\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}}")));
    }

    static double median(PolicyRunner runner, Scenario scenario) {
        double[] ms = new double[RUNS];
        for (int i = -WARMUP; i < RUNS; i++) {
            long start = System.nanoTime();
            Outcome outcome = runner.run(scenario);
            long took = System.nanoTime() - start;
            assertThat(outcome.status()).isEqualTo(200);
            if (i >= 0) {
                ms[i] = took / 1e6;
            }
        }
        Arrays.sort(ms);
        return ms[RUNS / 2];
    }
}
