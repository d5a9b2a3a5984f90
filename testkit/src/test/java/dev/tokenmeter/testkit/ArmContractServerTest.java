package dev.tokenmeter.testkit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/** The ARM server is the oracle of the CLI's deploy tests, so it must refuse what Azure refuses. */
class ArmContractServerTest {

    private static final String SERVICE = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1"
            + "/providers/Microsoft.ApiManagement/service/apim1";
    private static final String FRAGMENT = "{\"properties\":{\"format\":\"rawxml\",\"description\":\"d\","
            + "\"value\":\"<fragment><base /></fragment>\"}}";

    private final ArmContractServer server = ArmContractServer.start();
    private final HttpClient client = HttpClient.newHttpClient();

    @AfterEach
    void close() {
        server.close();
    }

    private HttpResponse<String> send(String method, String path, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server.baseUri() + path))
                .header("Authorization", "Bearer t")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void createsReadsAndConditionallyUpdatesAFragment() throws Exception {
        String path = SERVICE + "/policyFragments/f1?api-version=2024-05-01";
        HttpResponse<String> created = send("PUT", path, FRAGMENT);
        assertThat(created.statusCode()).isEqualTo(201);
        assertThat(created.headers().firstValue("Azure-AsyncOperation")).isPresent();
        HttpResponse<String> got = send("GET", path, null);
        assertThat(got.statusCode()).isEqualTo(200);
        assertThat(got.body()).contains("\"type\":\"Microsoft.ApiManagement/service/policyFragments\"");
        String etag = got.headers().firstValue("ETag").orElseThrow();

        assertThat(send("PUT", path, FRAGMENT, "If-Match", "\"stale\"").statusCode()).isEqualTo(412);
        assertThat(send("PUT", path, FRAGMENT, "If-Match", etag).statusCode()).isEqualTo(200);
        assertThat(server.violations()).isEmpty();
    }

    @Test
    void refusesABlindOverwrite() throws Exception {
        String path = SERVICE + "/policyFragments/f1?api-version=2024-05-01";
        send("PUT", path, FRAGMENT);
        assertThat(send("PUT", path, FRAGMENT).statusCode()).isEqualTo(400);
        assertThat(server.violations()).singleElement().asString().contains("without If-Match");
    }

    @Test
    void refusesAWrongApiVersionAnUnknownPropertyAndAnUnknownPath() throws Exception {
        assertThat(send("PUT", SERVICE + "/policyFragments/f1?api-version=2022-08-01", FRAGMENT).statusCode())
                .isEqualTo(400);
        assertThat(send("PUT", SERVICE + "/namedValues/n1?api-version=2024-05-01",
                "{\"properties\":{\"displayName\":\"n1\",\"value\":\"v\",\"secrett\":true}}").statusCode())
                .isEqualTo(400);
        assertThat(send("GET", SERVICE + "/policyFragmentz?api-version=2024-05-01", null).statusCode())
                .isEqualTo(400);
        assertThat(server.violations()).hasSize(3);
        assertThat(server.violations().get(1)).contains("unknown property properties.secrett");
    }

    @Test
    void servesPoliciesAtEveryScopeTheExamplesShow() throws Exception {
        String body = "{\"properties\":{\"format\":\"rawxml\",\"value\":\"<policies><inbound><base /></inbound></policies>\"}}";
        assertThat(send("PUT", SERVICE + "/policies/policy?api-version=2024-05-01", body).statusCode()).isEqualTo(201);
        assertThat(send("PUT", SERVICE + "/products/p1/policies/policy?api-version=2024-05-01", body).statusCode())
                .isEqualTo(201);
        assertThat(send("PUT", SERVICE + "/apis/a1/policies/policy?api-version=2024-05-01", body).statusCode())
                .isEqualTo(201);
        HttpResponse<String> op = send("PUT", SERVICE + "/apis/a1/operations/o1/policies/policy?api-version=2024-05-01", body);
        assertThat(op.statusCode()).isEqualTo(201);
        assertThat(op.body()).contains("Microsoft.ApiManagement/service/apis/operations/policies");
        assertThat(send("PUT", SERVICE + "/apis/a1/policies/other?api-version=2024-05-01", body).statusCode())
                .isEqualTo(400);
        assertThat(send("DELETE", SERVICE + "/apis/a1/policies/policy?api-version=2024-05-01", null).statusCode())
                .isEqualTo(400);
        assertThat(server.violations()).hasSize(2);
    }

    @Test
    void neverEchoesSecrets() throws Exception {
        String path = SERVICE + "/namedValues/key?api-version=2024-05-01";
        send("PUT", path, "{\"properties\":{\"displayName\":\"key\",\"value\":\"s3cret\",\"secret\":true}}");
        assertThat(send("GET", path, null).body()).doesNotContain("s3cret");
        assertThat(send("POST", SERVICE + "/namedValues/key/listValue?api-version=2024-05-01", null).body())
                .contains("s3cret");
        assertThat(server.violations()).isEmpty();
    }

    @Test
    void injectsFaultsAndChecksTheToken() throws Exception {
        server.inject(ArmContractServer.Fault.of("GET", "/loggers", 429, "TooManyRequests", 1)
                .withHeader("Retry-After", "1"));
        String path = SERVICE + "/loggers?api-version=2024-05-01";
        HttpResponse<String> throttled = send("GET", path, null);
        assertThat(throttled.statusCode()).isEqualTo(429);
        assertThat(throttled.headers().firstValue("Retry-After")).contains("1");
        assertThat(send("GET", path, null).statusCode()).isEqualTo(200);
        server.acceptOnlyToken("other");
        assertThat(send("GET", path, null).statusCode()).isEqualTo(401);
    }

    @Test
    void answersMissingSubscriptionsGroupsServicesAndApisAsArmDoes() throws Exception {
        server.withService(SERVICE, "/apis/api1/operations/op1", "/products/p1");
        String other = "/subscriptions/00000000-0000-0000-0000-000000000009/resourceGroups/rg1"
                + "/providers/Microsoft.ApiManagement/service/apim1";
        assertThat(send("GET", other + "/namedValues?api-version=2024-05-01", null).body())
                .contains("SubscriptionNotFound");
        assertThat(send("GET", SERVICE.replace("rg1", "rg2") + "/namedValues?api-version=2024-05-01", null).body())
                .contains("ResourceGroupNotFound");
        HttpResponse<String> service = send("PUT", SERVICE.replace("apim1", "apim2") + "/policyFragments/f1?api-version=2024-05-01", FRAGMENT);
        assertThat(service.statusCode()).isEqualTo(404);
        assertThat(service.body()).contains("ResourceNotFound", "Microsoft.ApiManagement/service/apim2");
        assertThat(send("GET", SERVICE + "/apis/api2/policies?api-version=2024-05-01", null).body()).contains("Api not found.");
        assertThat(send("GET", SERVICE + "/apis/api1/operations/op2/policies?api-version=2024-05-01", null).body())
                .contains("Operation not found.");
        assertThat(send("GET", SERVICE + "/apis/api1/policies?api-version=2024-05-01", null).statusCode()).isEqualTo(200);
        assertThat(send("GET", SERVICE + "/products/p1/policies?api-version=2024-05-01", null).statusCode()).isEqualTo(200);
        assertThat(send("PUT", SERVICE + "/policyFragments/f1?api-version=2024-05-01", FRAGMENT).statusCode()).isEqualTo(201);
        assertThat(server.resourceIds()).containsExactly(SERVICE + "/policyFragments/f1");
        assertThat(server.violations()).isEmpty();
    }
}
