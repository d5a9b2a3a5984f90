package dev.tokenmeter.cli.reconcile;

import com.azure.core.credential.TokenCredential;
import com.azure.core.http.HttpClient;
import com.azure.core.http.HttpHeaderName;
import com.azure.core.http.HttpMethod;
import com.azure.core.http.HttpPipeline;
import com.azure.core.http.HttpPipelineBuilder;
import com.azure.core.http.HttpRequest;
import com.azure.core.http.HttpResponse;
import com.azure.core.http.policy.ExponentialBackoff;
import com.azure.core.http.policy.RequestIdPolicy;
import com.azure.core.http.policy.RetryPolicy;
import com.azure.core.http.policy.UserAgentPolicy;
import com.azure.core.util.Context;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Failures;
import dev.tokenmeter.cli.apim.ArmClient;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;

/**
 * One Azure Monitor data API (the Metrics API on the ARM endpoint, or the Log Analytics query API) over an azure-core
 * pipeline: bearer token for the API's audience from DefaultAzureCredential, retries of 429 and 5xx honouring
 * Retry-After, and refusals turned into one line naming the role the identity needs.
 */
final class MonitorClient {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final HttpPipeline pipeline;
    private final URI endpoint;
    private final String api;
    private final String role;
    private final String option;
    private final String notFound;

    /**
     * @param option   the flag (or variable) naming the endpoint, for errors
     * @param api      what the messages call it, e.g. "Azure Monitor Metrics API"
     * @param role     the role that lets an identity read it, and where
     * @param notFound what to check when the API answers 404
     */
    MonitorClient(URI endpoint, String option, String scope, TokenCredential credential, String api, String role,
                  String notFound) {
        this.endpoint = endpoint;
        this.api = api;
        this.role = role;
        this.option = option;
        this.notFound = notFound;
        this.pipeline = new HttpPipelineBuilder()
                .httpClient(HttpClient.createDefault())
                .policies(new UserAgentPolicy("tokenmeter-cli"), new RequestIdPolicy(),
                        new RetryPolicy(new ExponentialBackoff(3, Duration.ofMillis(800), Duration.ofSeconds(20))),
                        ArmClient.bearer(endpoint, option, scope, credential))
                .build();
    }

    /** {@code pathAndQuery} is appended to the endpoint as given: the caller encodes it. */
    JsonNode get(String pathAndQuery, String what) {
        return send(new HttpRequest(HttpMethod.GET, url(pathAndQuery)), what);
    }

    JsonNode post(String path, JsonNode body, String what) {
        HttpRequest request = new HttpRequest(HttpMethod.POST, url(path));
        try {
            request.setHeader(HttpHeaderName.CONTENT_TYPE, "application/json");
            request.setBody(MAPPER.writeValueAsBytes(body));
        } catch (IOException e) {
            throw new CliFailure("cannot write the request to the " + api + ": " + e.getMessage());
        }
        return send(request, what);
    }

    private String url(String pathAndQuery) {
        return endpoint.toString().replaceAll("/+$", "") + pathAndQuery;
    }

    private JsonNode send(HttpRequest request, String what) {
        HttpResponse response;
        try {
            response = pipeline.sendSync(request, Context.NONE);
        } catch (RuntimeException e) {
            if (Failures.signIn(e)) {
                throw new CliFailure("not signed in to Azure: no credential of DefaultAzureCredential got a token for the "
                        + api + ". Run 'az login' (or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or use a "
                        + "managed identity); AZURE_TOKEN_CREDENTIALS=dev skips managed identity on a workstation", e);
            }
            throw new CliFailure(what + ": the " + api + " at " + endpoint + " could not be reached: " + Failures.reason(e)
                    + "; check the network and " + option, e);
        }
        try (response) {
            String text = response.getBodyAsBinaryData() == null ? "" : response.getBodyAsBinaryData().toString();
            JsonNode body = text == null || text.isBlank() ? MAPPER.missingNode() : MAPPER.readTree(text);
            int status = response.getStatusCode();
            if (status / 100 != 2) {
                throw new CliFailure(describe(what, status, body.path("error")));
            }
            return body;
        } catch (IOException e) {
            throw new CliFailure(what + ": the " + api + " answered something that is not JSON (" + e.getMessage() + ")");
        }
    }

    private String describe(String what, int status, JsonNode error) {
        String code = error.path("code").asText("");
        String message = error.path("message").asText("");
        String head = what + " failed: " + api + " answered HTTP " + status + (code.isBlank() ? "" : " " + code)
                + (message.isBlank() ? "" : " (" + message + ")") + ". ";
        switch (status) {
            case 401:
                return head + "Azure did not accept the credentials: run 'az login' (or set AZURE_TENANT_ID, AZURE_CLIENT_ID "
                        + "and AZURE_CLIENT_SECRET) and try again.";
            case 403:
                return head + "The identity is signed in but may not read this: grant it " + role + ".";
            case 404:
                return head + "Not found: check " + notFound + ".";
            case 429:
                return head + "Throttled beyond the retries: run it again in a minute, or over a shorter --from/--to.";
            default:
                return head + (status >= 500 ? "Azure failed on its side: try again later." : "Check the values given to the command.");
        }
    }
}
