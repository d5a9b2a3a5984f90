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

    /** Every user's usage, as OpenMeter answers a query grouped by subject, product and model. */
    private void answerTeams() {
        String[][] rows = {
                // subject, product, model, prompt, completion, cached
                {"alice", "team-red", "gpt-4o-2024-08-06", "1000000", "100000", "0"},
                {"alice", "team-red", "o3-mini", "1000000", "0", "0"},
                {"bob", "team-blue", "gpt-4o-2024-08-06", "200000", "0", "0"},
                {"carol", "team-green", "mystery-model", "5000000", "0", "0"}};
        for (String field : MeterDefinitions.REQUEST_FIELDS) {
            openmeter.route("GET", "/api/v1/meters/tokenmeter_" + field + "/query", r -> {
                StringBuilder data = new StringBuilder();
                for (String[] x : rows) {
                    long v = switch (field) {
                        case "prompt_tokens" -> Long.parseLong(x[3]);
                        case "completion_tokens" -> Long.parseLong(x[4]);
                        case "cached_tokens" -> Long.parseLong(x[5]);
                        case "total_tokens" -> Long.parseLong(x[3]) + Long.parseLong(x[4]);
                        default -> 0;
                    };
                    data.append(data.length() == 0 ? "" : ",").append("{\"value\":").append(v)
                            .append(",\"windowStart\":\"2026-11-01T00:00:00Z\",\"windowEnd\":\"2026-12-01T00:00:00Z\",")
                            .append("\"subject\":\"").append(x[0]).append("\",\"groupBy\":{\"product\":\"").append(x[1])
                            .append("\",\"model\":\"").append(x[2]).append("\"}}");
                }
                return Reply.json(200, "{\"data\":[" + data + "]}");
            });
        }
    }

    @Test
    void chargesBackPerProductForEveryUserPricingEachModelOfAProduct() {
        answerTeams();
        CliRunner.Result r = new CliRunner().run("usage", "--openmeter-url", openmeter.baseUri().toString(),
                "--from", "2026-11-01", "--to", "2026-12-01", "--group-by", "product",
                "--pricing", ProjectFiles.root().resolve("samples/pricing.json").toString(), "-o", "csv");
        assertThat(r.exitCode()).as(r.err()).isZero();
        // team-red: gpt-4o 1M * 2.50 + 0.1M * 10 = 3.50, o3-mini 1M * 1.10 = 1.10: 4.60 for the product
        assertThat(r.out().lines().toList()).containsExactly(
                "FROM,TO,PRODUCT,INPUT,CACHED,OUTPUT,REASONING,TOTAL,COST (USD)",
                "2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,team-blue,200000,0,0,0,200000,0.5000",
                "2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,team-green,5000000,0,0,0,5000000,",
                "2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,team-red,2000000,0,100000,0,2100000,4.6000");
        assertThat(r.err()).contains("no price for model mystery-model");
        // every user (no subject filter); priced per model, so model is asked for too
        assertThat(openmeter.requests()).allSatisfy(q -> assertThat(q.query()).doesNotContain("subject=")
                .contains("groupBy=product", "groupBy=model"));
        assertThat(openmeter.violations()).isEmpty();
    }

    @Test
    void topUsersAreTheLargestFirst() {
        answerTeams();
        CliRunner.Result r = new CliRunner().run("usage", "--openmeter-url", openmeter.baseUri().toString(),
                "--group-by", "user", "--top", "2", "-o", "json");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).containsSubsequence("\"user\" : \"carol\"", "\"totalTokens\" : 5000000",
                "\"user\" : \"alice\"", "\"totalTokens\" : 2100000").doesNotContain("bob");
        assertThat(openmeter.requests()).allSatisfy(q -> assertThat(q.query()).contains("groupBy=subject"));
        assertThat(openmeter.violations()).isEmpty();
    }

    @Test
    void groupsThePerTokenTypeEventsDoNotCarryAreAUsageError() {
        CliRunner.Result r = new CliRunner().run("usage", "--openmeter-url", openmeter.baseUri().toString(),
                "--mapping", "per-token-type", "--group-by", "product");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("--group-by product", "request mapping");
        CliRunner.Result top = new CliRunner().run("usage", "--openmeter-url", openmeter.baseUri().toString(), "--top", "0");
        assertThat(top.exitCode()).isEqualTo(2);
        assertThat(top.err()).contains("--top 0");
        assertThat(openmeter.requests()).isEmpty();
    }
}
