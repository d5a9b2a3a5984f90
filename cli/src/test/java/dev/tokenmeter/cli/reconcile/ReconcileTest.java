package dev.tokenmeter.cli.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenmeter.cli.CliRunner;
import dev.tokenmeter.testkit.AzureMonitorContractServer;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.StreamSupport;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * reconcile against local servers that hold the three sources: the Azure Monitor Metrics and Log Analytics query
 * APIs (checked against Microsoft's descriptions) and OpenMeter (checked against its OpenAPI).
 */
class ReconcileTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final AzureMonitorContractServer azure = AzureMonitorContractServer.start();
    private final OpenMeterContractServer openmeter = OpenMeterContractServer.start();
    private final ReconcileFixture fixture = new ReconcileFixture(azure, openmeter);

    @AfterEach
    void stop() {
        azure.close();
        openmeter.close();
    }

    private CliRunner runner(String now) {
        return new CliRunner().clock(Clock.fixed(Instant.parse(now), ZoneOffset.UTC))
                .env("TOKENMETER_OPENMETER_URL", openmeter.baseUri().toString())
                .env("TOKENMETER_OPENMETER_TOKEN", "om-secret-token")
                .env("AZURE_RESOURCE_MANAGER_ENDPOINT", azure.baseUri().toString())
                .env("TOKENMETER_LOG_ANALYTICS_ENDPOINT", azure.baseUri().toString())
                .env("TOKENMETER_OPENAI_ACCOUNT", ReconcileFixture.ACCOUNT)
                .env("TOKENMETER_LOG_ANALYTICS_WORKSPACE", ReconcileFixture.WORKSPACE);
    }

    private CliRunner.Result reconcile(String... extra) {
        List<String> args = new ArrayList<>(List.of("reconcile", "--from", "2026-11-01T10:00:00Z", "--to", "2026-11-01T12:00:00Z"));
        args.addAll(List.of(extra));
        return runner("2026-11-02T00:00:00Z").run(args.toArray(String[]::new));
    }

    private void noViolations() {
        assertThat(azure.violations()).isEmpty();
        assertThat(openmeter.violations()).isEmpty();
    }

    @Test
    void findsExactlyTheSeededGapAndExitsWithTheGapCode() throws Exception {
        fixture.dayWithOneGap();
        CliRunner.Result r = reconcile("-o", "json");
        assertThat(r.exitCode()).as(r.err()).isEqualTo(4);
        JsonNode report = MAPPER.readTree(r.out());
        List<JsonNode> rows = StreamSupport.stream(report.path("rows").spliterator(), false).toList();
        assertThat(rows).extracting(n -> n.path("hour").asText() + " " + n.path("deployment").asText() + " "
                + n.path("status").asText()).containsExactly(
                "2026-11-01T10:00:00Z gpt-4o ok", "2026-11-01T10:00:00Z gpt-4o-mini ok", "2026-11-01T11:00:00Z gpt-4o gap");
        JsonNode gap = rows.get(2);
        assertThat(gap.path("azureTokens").asLong()).isEqualTo(3_000);
        assertThat(gap.path("gatewayTokens").asLong()).isEqualTo(3_000);
        assertThat(gap.path("billedTokens").asLong()).isEqualTo(2_400);
        assertThat(gap.path("missingTokens").isIntegralNumber()).isTrue();
        assertThat(gap.path("missingTokens").asLong()).isEqualTo(600);
        assertThat(gap.path("coveragePercent").decimalValue()).isEqualByComparingTo("80.0");
        // reported and joined are exact, estimated is not; "none" rows add nothing
        JsonNode first = rows.get(0);
        assertThat(first.path("exactTokens").asLong()).isEqualTo(1_300);
        assertThat(first.path("estimatedTokens").asLong()).isEqualTo(200);
        assertThat(rows.get(1).path("missingTokens").asLong()).isEqualTo(5);
        assertThat(report.path("totals").path("flaggedHours").asInt()).isEqualTo(1);
        assertThat(report.path("totals").path("missingTokens").asLong()).isEqualTo(605);
        assertThat(report.path("caveats")).hasSize(3);
        assertThat(r.out() + r.err()).doesNotContain("om-secret-token", "test-token");
        noViolations();
    }

    @Test
    void sendsWhatTheContractsAndThePoliciesNameAndCorrectTokensPerApi() throws Exception {
        fixture.dayWithOneGap();
        reconcile();
        noViolations();
        AzureMonitorContractServer.Received metrics = azure.requests().stream()
                .filter(q -> q.path().endsWith("/providers/Microsoft.Insights/metrics")).findFirst().orElseThrow();
        assertThat(metrics.path()).isEqualTo(ReconcileFixture.ACCOUNT + "/providers/Microsoft.Insights/metrics");
        assertThat(metrics.query()).containsEntry("api-version", "2023-10-01")
                .containsEntry("metricnames", "ProcessedPromptTokens,GeneratedTokens")
                .containsEntry("aggregation", "Total").containsEntry("interval", "PT1H")
                .containsEntry("$filter", "ModelDeploymentName eq '*'")
                .containsEntry("timespan", "2026-11-01T10:00:00Z/2026-11-01T12:00:00Z");
        AzureMonitorContractServer.Received logs = azure.requests().stream()
                .filter(q -> q.path().endsWith("/query")).findFirst().orElseThrow();
        assertThat(logs.path()).isEqualTo("/v1/workspaces/" + ReconcileFixture.WORKSPACE + "/query");
        String kql = MAPPER.readTree(logs.body()).path("query").asText();
        // exactly the names the emit-token-metric policies write, and the dimension our fragments add
        assertThat(kql).startsWith("AppMetrics").contains("Name in (\"Prompt Tokens\", \"Completion Tokens\")");
        for (String fragment : List.of("tokenmeter-token-metrics.xml", "tokenmeter-token-metrics-llm.xml")) {
            String xml = Files.readString(dev.tokenmeter.testkit.ProjectFiles.root().resolve("policies/fragments/" + fragment));
            assertThat(xml).as(fragment).contains("<dimension name=\"" + GatewayMetrics.DEPLOYMENT_DIMENSION + "\"");
        }
        assertThat(kql).contains("Properties[\"" + GatewayMetrics.DEPLOYMENT_DIMENSION + "\"]");
        List<String> meterQueries = openmeter.requests().stream().map(OpenMeterContractServer.Received::query).toList();
        assertThat(meterQueries).hasSize(2).allSatisfy(q -> assertThat(q).contains("windowSize=HOUR",
                "groupBy=deployment", "groupBy=usage_source", "from=2026-11-01T10%3A00%3A00Z", "to=2026-11-01T12%3A00%3A00Z"));
        // each API gets a token for its own audience, and the OpenMeter token goes to OpenMeter only
        assertThat(azure.requests()).allSatisfy(q -> assertThat(q.headers().get("Authorization")).containsExactly("Bearer test-token"));
    }

    @Test
    void printsATableWithTheCaveatsForPeopleAndPlainCsvForJobs() throws Exception {
        fixture.dayWithOneGap();
        CliRunner.Result table = reconcile();
        assertThat(table.exitCode()).isEqualTo(4);
        assertThat(table.out()).contains("HOUR (UTC)", "COVERAGE", "80.0%", "gap", "3,000", "2,400", "600",
                "1 hour(s) beyond 1%", "Caveats:", "did not pass API Management", "estimate", "Metric latency");
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/reconcile-session.md"), "$ ./tokenmeter reconcile --env contoso --from "
                + "2026-11-01T10:00:00Z --to 2026-11-01T12:00:00Z\n" + table.out() + "$ echo $?\n" + table.exitCode() + "\n");

        CliRunner.Result csv = reconcile("-o", "csv");
        assertThat(csv.out().lines().toList()).containsExactly(
                "hour,deployment,azure,gateway,billed,exact,estimated,coverage_percent,missing,status",
                "2026-11-01T10:00:00Z,gpt-4o,1500,1500,1500,1300,200,100.0,0,ok",
                "2026-11-01T10:00:00Z,gpt-4o-mini,1000,1000,995,995,0,99.5,5,ok",
                "2026-11-01T11:00:00Z,gpt-4o,3000,3000,2400,2400,0,80.0,600,gap");
        assertThat(csv.err()).contains("note: AZURE counts every call");
        noViolations();
    }

    @Test
    void aStrictToleranceFlagsTheSmallShortfallAndALooseOneNothing() {
        fixture.dayWithOneGap();
        CliRunner.Result strict = reconcile("--tolerance", "0.1", "-o", "csv");
        assertThat(strict.exitCode()).isEqualTo(4);
        assertThat(strict.out()).contains("gpt-4o-mini,1000,1000,995,995,0,99.5,5,gap");
        CliRunner.Result loose = reconcile("--tolerance", "25");
        assertThat(loose.exitCode()).as(loose.out()).isZero();
        assertThat(loose.out()).contains("Every settled hour is within 25%");
    }

    @Test
    void billingMoreThanAzureCountedIsFlaggedToo() throws Exception {
        fixture.azure("2026-11-01T10:00:00Z", "gpt-4o", 1_000, 0)
                .gateway("2026-11-01T10:00:00Z", "gpt-4o", 1_000)
                .billed("2026-11-01T10:00:00Z", "gpt-4o", "estimated", 1_300, 0);
        CliRunner.Result r = reconcile("-o", "json");
        assertThat(r.exitCode()).isEqualTo(4);
        JsonNode row = MAPPER.readTree(r.out()).path("rows").get(0);
        assertThat(row.path("status").asText()).isEqualTo("over");
        assertThat(row.path("missingTokens").asLong()).isEqualTo(-300);
    }

    @Test
    void hoursStillSettlingAreShownButNotJudged() throws Exception {
        fixture.dayWithOneGap();
        // at 12:30 the 11:00 hour ended 30 minutes ago: inside the default one-hour settle window
        CliRunner.Result r = runner("2026-11-01T12:30:00Z").run("reconcile", "--from", "2026-11-01T10:00:00Z",
                "--to", "2026-11-01T12:00:00Z", "-o", "json");
        assertThat(r.exitCode()).as(r.out()).isZero();
        JsonNode rows = MAPPER.readTree(r.out()).path("rows");
        assertThat(rows.get(2).path("status").asText()).isEqualTo("recent");
        assertThat(rows.get(2).path("missingTokens").asLong()).isEqualTo(600);
    }

    @Test
    void aMissingRoleIsOneLineNamingTheRole() {
        fixture.dayWithOneGap();
        azure.deny(ReconcileFixture.ACCOUNT);
        CliRunner.Result metrics = reconcile();
        assertThat(metrics.exitCode()).isEqualTo(1);
        assertThat(metrics.err().strip().lines()).singleElement().asString()
                .contains("HTTP 403", "AuthorizationFailed", "'Monitoring Reader' on the Azure OpenAI account");

        AzureMonitorContractServer other = AzureMonitorContractServer.start();
        try {
            new ReconcileFixture(other, openmeter).dayWithOneGap();
            other.deny(ReconcileFixture.WORKSPACE);
            CliRunner.Result logs = runner("2026-11-02T00:00:00Z")
                    .env("AZURE_RESOURCE_MANAGER_ENDPOINT", other.baseUri().toString())
                    .env("TOKENMETER_LOG_ANALYTICS_ENDPOINT", other.baseUri().toString())
                    .run("reconcile", "--from", "2026-11-01T10:00:00Z", "--to", "2026-11-01T12:00:00Z");
            assertThat(logs.exitCode()).isEqualTo(1);
            assertThat(logs.err()).contains("HTTP 403", "'Log Analytics Reader' on the workspace");
        } finally {
            other.close();
        }
    }

    @Test
    void badInputIsAUsageErrorNamingTheOption() {
        CliRunner.Result offHour = runner("2026-11-02T00:00:00Z").run("reconcile", "--from", "2026-11-01T10:30:00Z",
                "--to", "2026-11-01T12:00:00Z");
        assertThat(offHour.exitCode()).isEqualTo(2);
        assertThat(offHour.err()).contains("--from 2026-11-01T10:30:00Z", "whole UTC hours");

        CliRunner.Result account = runner("2026-11-02T00:00:00Z").env("TOKENMETER_OPENAI_ACCOUNT", "aoai-contoso")
                .run("reconcile", "--from", "2026-11-01", "--to", "2026-11-02");
        assertThat(account.exitCode()).isEqualTo(2);
        assertThat(account.err()).contains("--openai-account aoai-contoso", "Microsoft.CognitiveServices/accounts/NAME");

        CliRunner.Result missing = new CliRunner().env("TOKENMETER_OPENMETER_URL", openmeter.baseUri().toString())
                .run("reconcile", "--from", "2026-11-01", "--to", "2026-11-02");
        assertThat(missing.exitCode()).isEqualTo(2);
        assertThat(missing.err()).contains("Missing --openai-account", "TOKENMETER_OPENAI_ACCOUNT");
        assertThat(azure.requests()).isEmpty();
    }

    @Test
    void takesTheAccountAndWorkspaceFromTheEnvironmentFile(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        fixture.dayWithOneGap();
        Files.writeString(dir.resolve("contoso.yaml"), "subscription: 00000000-0000-0000-0000-000000000000\n"
                + "openmeter:\n  url: " + openmeter.baseUri() + "\n"
                + "monitoring:\n  openaiAccount: " + ReconcileFixture.ACCOUNT + "\n  workspaceId: " + ReconcileFixture.WORKSPACE
                + "\n  logsEndpoint: " + azure.baseUri() + "\n");
        CliRunner.Result r = new CliRunner().clock(Clock.fixed(Instant.parse("2026-11-02T00:00:00Z"), ZoneOffset.UTC))
                .env("AZURE_RESOURCE_MANAGER_ENDPOINT", azure.baseUri().toString())
                .env("TOKENMETER_ENVIRONMENTS_DIR", dir.toString())
                .run("reconcile", "--env", "contoso", "--from", "2026-11-01T10:00:00Z", "--to", "2026-11-01T12:00:00Z");
        assertThat(r.exitCode()).as(r.err()).isEqualTo(4);
        assertThat(r.out()).contains("aoai-contoso", ReconcileFixture.WORKSPACE);
        noViolations();
    }

    @Test
    void withThePerTokenTypeMappingBillsAllTypesWithoutAnExactSplit() throws Exception {
        fixture.azure("2026-11-01T10:00:00Z", "gpt-4o", 1_000, 500).gateway("2026-11-01T10:00:00Z", "gpt-4o", 1_500);
        // the token types partition prompt plus completion: input + cache_read + output + reasoning
        openmeter.route("GET", "/api/v1/meters/tokenmeter_tokens/query", q -> OpenMeterContractServer.Reply.json(200,
                "{\"windowSize\":\"HOUR\",\"data\":[{\"value\":1500,\"windowStart\":\"2026-11-01T10:00:00Z\","
                        + "\"windowEnd\":\"2026-11-01T11:00:00Z\",\"groupBy\":{\"deployment\":\"gpt-4o\"}}]}"));
        CliRunner.Result r = reconcile("--mapping", "per-token-type", "-o", "json");
        assertThat(r.exitCode()).as(r.err() + r.out()).isZero();
        JsonNode row = MAPPER.readTree(r.out()).path("rows").get(0);
        assertThat(row.path("billedTokens").asLong()).isEqualTo(1_500);
        assertThat(row.path("exactTokens").isNull()).isTrue();
        assertThat(row.path("estimatedTokens").isNull()).isTrue();
        assertThat(openmeter.requests()).singleElement().satisfies(q -> assertThat(q.query())
                .contains("groupBy=deployment").doesNotContain("usage_source"));
        noViolations();
    }
}
