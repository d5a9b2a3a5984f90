package dev.tokenmeter.policies.harness;

import dev.tokenmeter.policies.PolicySetDir;
import dev.tokenmeter.policies.set.PolicySet;
import dev.tokenmeter.policies.source.PolicyExpression;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

import static dev.tokenmeter.policies.harness.PolicyHarnessTest.BASE;
import static dev.tokenmeter.policies.harness.PolicyHarnessTest.withToken;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the example policy's chain costs per request inside the Mono process: the time spent in its C# expressions,
 * timed on the C# side (Host.cs), so the JSON the harness sends to and from mono is not counted; for a typical chat
 * request and 1 MiB and 8 MiB bodies, streamed and not. The entitlement answer is cached after the first request, as
 * it is for a user's repeat requests. Not a test (surefire's naming leaves it out): run {@code policies/bench.sh}.
 * It measures Mono's runtime, not APIM's gateway (.NET, its own policy engine and body buffering); the figures compare
 * body sizes, stream modes and policy versions with each other.
 */
class GatewayOverheadBenchmark {

    static final int WARMUP = 5;
    static final int RUNS = 25;

    @Test
    void overheadPerRequest() {
        try (HarnessFixture fixture = new HarnessFixture(PolicySet.load(PolicySetDir.shipped()));
             OpenMeterContractServer openmeter = HarnessFixture.grantingOpenMeter()) {
            PolicyRunner runner = fixture.runner(openmeter.baseUri());
            Map<String, Integer> sizes = new LinkedHashMap<>();
            sizes.put("typical chat", 0);
            sizes.put("1 MiB", 1 << 20);
            sizes.put("8 MiB", 8 << 20);
            StringBuilder table = new StringBuilder("| request | not streamed: expressions (median ms) | streamed: expressions (median ms) "
                    + "| not streamed / streamed: whole harness run (median ms) | costliest expression (not streamed / streamed) |\n|---|---|---|---|---|\n");
            for (var size : sizes.entrySet()) {
                String content = size.getValue() == 0 ? "Tell me a joke about gateways." : "a".repeat(size.getValue());
                Measured plain = measure(runner, fixture, chat(content, false));
                Measured streamed = measure(runner, fixture, chat(content, true));
                table.append(String.format(java.util.Locale.ROOT, "| %s | %.2f | %.2f | %.0f / %.0f | %s / %s |%n", size.getKey(),
                        plain.expressionsMs, streamed.expressionsMs, plain.wallMs, streamed.wallMs, plain.costliest, streamed.costliest));
            }
            System.out.println(table);
        }
    }

    record Measured(double expressionsMs, double wallMs, String costliest) {
    }

    static Scenario chat(String content, boolean stream) {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]" + (stream ? ",\"stream\":true" : "") + "}";
        Scenario s = Scenario.post("bench-" + stream + content.length(), BASE + "/deployments/gpt-4o/chat/completions?api-version=2024-10-21", body);
        return withToken(stream
                ? s.backend(new Scenario.Backend.Responds(200, "text/event-stream", ReferenceExamples.recordedSseBody())).estimatedTokens(21)
                : s.backend(new Scenario.Backend.Responds(200, "application/json",
                        "{\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o\",\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}}")));
    }

    static Measured measure(PolicyRunner runner, HarnessFixture fixture, Scenario scenario) {
        double[] expressions = new double[RUNS];
        double[] wall = new double[RUNS];
        Map<Integer, Long> byId = new TreeMap<>();
        for (int i = -WARMUP; i < RUNS; i++) {
            long start = System.nanoTime();
            Outcome outcome = runner.run(scenario);
            long took = System.nanoTime() - start;
            ExpressionHost.ExpressionTiming timing = fixture.host.timing();
            assertThat(outcome.status()).isEqualTo(200);
            if (i >= 0) {
                expressions[i] = timing.micros() / 1000.0;
                wall[i] = took / 1e6;
                timing.microsById().forEach((id, micros) -> byId.merge(id, micros, Long::sum));
            }
        }
        Arrays.sort(expressions);
        Arrays.sort(wall);
        var top = byId.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow();
        PolicyExpression e = fixture.set.expressions().get(top.getKey());
        String costliest = String.format(java.util.Locale.ROOT, "%s (%.2f ms)", e.location(), top.getValue() / 1000.0 / RUNS);
        return new Measured(expressions[RUNS / 2], wall[RUNS / 2], costliest);
    }
}
