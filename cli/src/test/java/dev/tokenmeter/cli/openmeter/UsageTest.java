package dev.tokenmeter.cli.openmeter;

import dev.tokenmeter.testkit.ProjectFiles;
import dev.tokenmeter.cli.CliRunner;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import dev.tokenmeter.testkit.OpenMeterContractServer.Reply;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class UsageTest {

    private final OpenMeterContractServer openmeter = OpenMeterContractServer.start();

    @AfterEach
    void stop() {
        openmeter.close();
    }

    private static String row(double value, String start, String end, String model, String extra) {
        return "{\"value\":" + value + ",\"windowStart\":\"" + start + "\",\"windowEnd\":\"" + end
                + "\",\"subject\":\"alice\",\"groupBy\":{\"model\":\"" + model + "\"" + extra + "}}";
    }

    private void answerRequestMeters() {
        Map<String, double[]> values = Map.of(
                "prompt_tokens", new double[]{1_200_000, 10_000},
                "completion_tokens", new double[]{300_000, 2_000},
                "cached_tokens", new double[]{200_000, 0},
                "reasoning_tokens", new double[]{0, 500},
                "total_tokens", new double[]{1_500_000, 12_000});
        values.forEach((field, v) -> openmeter.route("GET", "/api/v1/meters/tokenmeter_" + field + "/query", r ->
                Reply.json(200, "{\"from\":\"2026-11-01T00:00:00Z\",\"to\":\"2026-11-02T00:00:00Z\",\"windowSize\":\"DAY\",\"data\":["
                        + row(v[0], "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", "gpt-4o-2024-08-06", "") + ","
                        + row(v[1], "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", "o3-mini", "") + "]}")));
    }

    private CliRunner.Result usage(String... extra) {
        String[] base = {"usage", "--openmeter-url", openmeter.baseUri().toString(), "--user", "alice",
                "--from", "2026-11-01", "--to", "2026-11-02T00:00:00Z", "--window", "DAY"};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return new CliRunner().run(args);
    }

    @Test
    void reportsPerModelWithCost() {
        answerRequestMeters();
        Path pricing = ProjectFiles.root().resolve("samples/pricing.json");
        CliRunner.Result r = usage("--pricing", pricing.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        // gpt-4o: (1.2M - 0.2M) * 2.50 + 0.2M * 1.25 + 0.3M * 10 = 2.50 + 0.25 + 3.00 = 5.75 USD
        assertThat(r.out()).contains("gpt-4o-2024-08-06", "1,200,000", "200,000", "300,000", "1,500,000", "5.7500",
                "COST (USD)", "Total cost: 5.7698");
        // o3-mini: 10,000 * 1.10 + 2,000 * 4.40 per million = 0.0198 USD
        var queries = openmeter.requests().stream().map(OpenMeterContractServer.Received::query).toList();
        assertThat(queries).hasSize(5).allSatisfy(q -> assertThat(q).contains("subject=alice", "windowSize=DAY",
                "groupBy=model", "from=2026-11-01T00%3A00%3A00Z", "to=2026-11-02T00%3A00%3A00Z"));
        assertThat(openmeter.violations()).isEmpty();
    }

    @Test
    void printsCsvAndJson() {
        answerRequestMeters();
        CliRunner.Result csv = usage("-o", "csv");
        assertThat(csv.out().lines().findFirst()).contains("FROM,TO,MODEL,INPUT,CACHED,OUTPUT,REASONING,TOTAL");
        assertThat(csv.out()).contains("o3-mini,10000,0,2000,500,12000");
        CliRunner.Result json = usage("-o", "json");
        assertThat(json.out()).contains("\"model\" : \"o3-mini\"", "\"reasoningTokens\" : 500");
        assertThat(openmeter.violations()).isEmpty();
    }

    @Test
    void readsTheLlmShapeByTokenType() {
        openmeter.route("GET", "/api/v1/meters/tokenmeter_tokens/query", r -> Reply.json(200, "{\"data\":["
                + row(800, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", "gpt-4o", ",\"type\":\"input\"") + ","
                + row(200, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", "gpt-4o", ",\"type\":\"cache_read\"") + ","
                + row(90, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", "gpt-4o", ",\"type\":\"output\"") + ","
                + row(10, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", "gpt-4o", ",\"type\":\"reasoning\"") + "]}"));
        CliRunner.Result r = usage("--mapping", "per-token-type", "-o", "json");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("\"inputTokens\" : 1000,", "\"cachedTokens\" : 200,", "\"outputTokens\" : 100,",
                "\"reasoningTokens\" : 10,", "\"totalTokens\" : 1100");
        assertThat(openmeter.requests().get(0).query()).contains("groupBy=model", "groupBy=type");
        assertThat(openmeter.violations()).isEmpty();
    }

    @Test
    void aMissingMeterSaysToApplyTheMeters() {
        openmeter.route("GET", "/api/v1/meters/.*", r -> Reply.problem(404, "meter not found"));
        CliRunner.Result r = usage();
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("HTTP 404", "tokenmeter openmeter meters apply");
    }

    @Test
    void aBadDateIsAUsageError() {
        CliRunner.Result r = new CliRunner().run("usage", "--openmeter-url", openmeter.baseUri().toString(),
                "--user", "alice", "--from", "yesterday");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("--from yesterday");
    }
}
