package dev.tokenmeter.testkit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/** The contract server is the oracle of the sink's tests, so it must itself refuse what OpenMeter refuses. */
class OpenMeterContractServerTest {

    private final OpenMeterContractServer server = OpenMeterContractServer.start();
    private final HttpClient client = HttpClient.newHttpClient();

    private static final String EVENT = """
            {"specversion":"1.0","id":"r1","source":"apim/contoso","type":"tokens","subject":"alice",
             "time":"2026-11-27T08:01:12.347Z","datacontenttype":"application/json","data":{"total_tokens":10}}""";

    @AfterEach
    void close() {
        server.close();
    }

    private int post(String contentType, String body) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(server.baseUri() + "/api/v1/events"))
                .header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        return client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    @Test
    void acceptsAValidBatch() throws Exception {
        assertThat(post("application/cloudevents-batch+json", "[" + EVENT + "]")).isEqualTo(204);
        assertThat(server.violations()).isEmpty();
        assertThat(server.ingestedEvents()).hasSize(1);
    }

    @Test
    void refusesACharsetSuffix() throws Exception {
        assertThat(post("application/cloudevents-batch+json; charset=utf-8", "[" + EVENT + "]")).isEqualTo(400);
        assertThat(server.violations()).singleElement().asString().contains("Content-Type");
        assertThat(server.ingestedEvents()).isEmpty();
    }

    @Test
    void refusesAnEventWithoutSubject() throws Exception {
        assertThat(post("application/cloudevents-batch+json", "[" + EVENT.replace("\"subject\":\"alice\",", "") + "]"))
                .isEqualTo(400);
        assertThat(server.violations()).singleElement().asString().contains("subject");
    }

    @Test
    void refusesDataThatIsNotAnObject() throws Exception {
        assertThat(post("application/cloudevents-batch+json", "[" + EVENT.replace("{\"total_tokens\":10}", "42") + "]"))
                .isEqualTo(400);
        assertThat(server.violations()).hasSize(1);
    }

    @Test
    void refusesAnUnknownPath() throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(server.baseUri() + "/api/v1/eventz"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{}")).build();
        assertThat(client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode()).isEqualTo(400);
        assertThat(server.violations()).hasSize(1);
    }

    private int get(String path) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(server.baseUri() + path)).GET().build();
        return client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    @Test
    void customerKeyedRoutesJudgeTheKeyByTheDocumentsAnyOfSchema() throws Exception {
        server.route("GET", "/api/v2/customers/[^/]+/entitlements/[^/]+/value", r -> OpenMeterContractServer.Reply.json(200, "{\"hasAccess\":true}"));
        assertThat(get("/api/v2/customers/3f2b8c1e-7d6a-4e21-9b0f-5a4c3d2e1f01/entitlements/tokenmeter_tokens/value")).isEqualTo(200);
        assertThat(get("/api/v2/customers/alice%40contoso.example/entitlements/tokenmeter_tokens/value")).isEqualTo(200);
        assertThat(server.violations()).isEmpty();
        // ExternalKey is at most 256 characters, and a feature key has its own pattern
        assertThat(get("/api/v2/customers/" + "a".repeat(257) + "/entitlements/tokenmeter_tokens/value")).isEqualTo(400);
        assertThat(get("/api/v2/customers/alice/entitlements/Tokenmeter-Tokens/value")).isEqualTo(400);
        assertThat(server.violations()).hasSize(2);
    }

    @Test
    void callsToDeprecatedOperationsAreListed() throws Exception {
        server.route("GET", "/api/.*/value", r -> OpenMeterContractServer.Reply.json(200, "{\"hasAccess\":true}"));
        get("/api/v1/subjects/alice/entitlements/tokenmeter_tokens/value");
        get("/api/v2/customers/alice/entitlements/tokenmeter_tokens/value");
        assertThat(server.deprecatedCalls()).containsExactly("GET /api/v1/subjects/alice/entitlements/tokenmeter_tokens/value");
    }
}
