package dev.tokenmeter.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** The reconcile tests trust this server's judgement, so it must accept what Azure accepts and refuse the rest. */
class AzureMonitorContractServerTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String ACCOUNT = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg"
            + "/providers/Microsoft.CognitiveServices/accounts/contoso-openai";
    private static final String EXAMPLES = "azure-monitor/specification/";

    private final AzureMonitorContractServer server = AzureMonitorContractServer.start();
    private final HttpClient client = HttpClient.newHttpClient();

    @AfterEach
    void close() {
        server.close();
    }

    private HttpResponse<String> get(String path, Map<String, String> query, boolean token) throws Exception {
        String q = query.entrySet().stream().map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "="
                + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8)).collect(Collectors.joining("&"));
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server.baseUri() + path + "?" + q));
        if (token) {
            b.header("Authorization", "Bearer test-token");
        }
        return client.send(b.GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create(server.baseUri() + path))
                .header("Authorization", "Bearer test-token").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static Map<String, String> tokenQuery() {
        return Map.of("api-version", "2023-10-01", "timespan", "2026-11-01T10:00:00Z/2026-11-01T12:00:00Z",
                "interval", "PT1H", "metricnames", "ProcessedPromptTokens", "aggregation", "Total",
                "$filter", "ModelDeploymentName eq '*'", "top", "1000");
    }

    @Test
    void answersSeededPlatformMetricsPerDeploymentAndHourInTheDocumentedShape() throws Exception {
        server.metric(ACCOUNT, "ProcessedPromptTokens", "gpt-4o", Instant.parse("2026-11-01T10:05:00Z"), 100)
                .metric(ACCOUNT, "ProcessedPromptTokens", "gpt-4o", Instant.parse("2026-11-01T10:59:00Z"), 20)
                .metric(ACCOUNT, "ProcessedPromptTokens", "gpt-4o-mini", Instant.parse("2026-11-01T11:00:00Z"), 7)
                .metric(ACCOUNT, "GeneratedTokens", "gpt-4o", Instant.parse("2026-11-01T10:00:00Z"), 999);
        HttpResponse<String> r = get(ACCOUNT + "/providers/Microsoft.Insights/metrics", tokenQuery(), true);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(server.violations()).isEmpty();
        JsonNode body = MAPPER.readTree(r.body());
        assertThat(body.path("value")).hasSize(1);
        JsonNode series = body.path("value").get(0).path("timeseries");
        assertThat(series).hasSize(2);
        JsonNode gpt4o = series.get(0);
        assertThat(gpt4o.path("metadatavalues").get(0).path("name").path("value").asText()).isEqualTo("modeldeploymentname");
        assertThat(gpt4o.path("metadatavalues").get(0).path("value").asText()).isEqualTo("gpt-4o");
        assertThat(gpt4o.path("data").get(0).path("timeStamp").asText()).isEqualTo("2026-11-01T10:00:00Z");
        assertThat(gpt4o.path("data").get(0).path("total").asLong()).isEqualTo(120);
        assertThat(gpt4o.path("data").get(1).path("total").asLong()).isZero();
    }

    @Test
    void cutsASplitToTenSeriesWhenTopIsNotGivenAsDocumented() throws Exception {
        for (int i = 0; i < 12; i++) {
            server.metric(ACCOUNT, "ProcessedPromptTokens", "d" + i, Instant.parse("2026-11-01T10:00:00Z"), 10 + i);
        }
        Map<String, String> q = new java.util.HashMap<>(tokenQuery());
        q.remove("top");
        JsonNode body = MAPPER.readTree(get(ACCOUNT + "/providers/Microsoft.Insights/metrics", q, true).body());
        assertThat(body.path("value").get(0).path("timeseries")).hasSize(10);
    }

    @Test
    void refusesARequestTheMetricsApiRefuses() throws Exception {
        Map<String, String> q = new java.util.HashMap<>(tokenQuery());
        q.remove("api-version");
        assertThat(get(ACCOUNT + "/providers/Microsoft.Insights/metrics", q, true).statusCode()).isEqualTo(400);
        q.put("api-version", "2023-10-01");
        q.put("resultType", "Everything");
        assertThat(get(ACCOUNT + "/providers/Microsoft.Insights/metrics", q, true).statusCode()).isEqualTo(400);
        assertThat(server.violations()).hasSize(2);
        assertThat(server.violations().get(0)).contains("api-version");
        assertThat(server.violations().get(1)).contains("Everything").contains("Data");
    }

    @Test
    void acceptsMicrosoftsOwnExampleRequest() throws Exception {
        JsonNode example = MAPPER.readTree(Files.readString(SharedReference.resolve(EXAMPLES
                + "monitor/resource-manager/Microsoft.Insights/stable/2023-10-01/examples/GetMetric.json")));
        Map<String, String> q = new java.util.LinkedHashMap<>();
        example.path("parameters").fields().forEachRemaining(e -> {
            if (!e.getKey().equals("resourceUri")) {
                q.put(e.getKey(), e.getValue().asText());
            }
        });
        get("/" + example.path("parameters").path("resourceUri").asText() + "/providers/Microsoft.Insights/metrics", q, true);
        assertThat(server.violations()).isEmpty();

        JsonNode post = MAPPER.readTree(Files.readString(SharedReference.resolve(EXAMPLES
                + "operationalinsights/data-plane/Microsoft.OperationalInsights/stable/v1/examples/oms-post-example.json")));
        String workspace = post.path("parameters").path("workspaceId").asText();
        server.onQuery(workspace, query -> new AzureMonitorContractServer.LogTable(
                List.of(new AzureMonitorContractServer.LogTable.Column("Count", "long")), List.of(List.of(10))));
        HttpResponse<String> r = post("/v1/workspaces/" + workspace + "/query", post.path("parameters").path("body").toString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(MAPPER.readTree(r.body()).path("tables").get(0).path("rows").get(0).get(0).asInt()).isEqualTo(10);
        assertThat(server.violations()).isEmpty();
    }

    @Test
    void refusesAQueryWithoutItsRequiredTextAndAnUnknownWorkspace() throws Exception {
        server.onQuery("ws-1", query -> new AzureMonitorContractServer.LogTable(List.of(), List.of()));
        assertThat(post("/v1/workspaces/ws-1/query", "{\"timespan\":\"PT1H\"}").statusCode()).isEqualTo(400);
        assertThat(server.violations()).singleElement().asString().contains("query");
        assertThat(post("/v1/workspaces/ws-2/query", "{\"query\":\"AppMetrics\"}").statusCode()).isEqualTo(404);
    }

    @Test
    void refusesARequestWithoutABearerToken() throws Exception {
        assertThat(get(ACCOUNT + "/providers/Microsoft.Insights/metrics", tokenQuery(), false).statusCode()).isEqualTo(401);
    }
}
