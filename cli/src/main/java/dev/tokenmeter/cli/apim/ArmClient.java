package dev.tokenmeter.cli.apim;

import com.azure.core.credential.TokenCredential;
import com.azure.core.credential.TokenRequestContext;
import com.azure.core.http.HttpClient;
import com.azure.core.http.HttpHeaderName;
import com.azure.core.http.HttpMethod;
import com.azure.core.http.HttpPipeline;
import com.azure.core.http.HttpPipelineBuilder;
import com.azure.core.http.policy.HttpPipelinePolicy;
import com.azure.core.http.HttpRequest;
import com.azure.core.http.HttpResponse;
import com.azure.core.http.policy.BearerTokenAuthenticationPolicy;
import com.azure.core.http.policy.ExponentialBackoff;
import com.azure.core.http.policy.RequestIdPolicy;
import com.azure.core.http.policy.RetryPolicy;
import com.azure.core.http.policy.UserAgentPolicy;
import com.azure.core.util.Context;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.azure.core.http.policy.RequestRetryCondition;
import com.azure.core.http.policy.RetryStrategy;
import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Failures;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * Azure Resource Manager over an azure-core {@link HttpPipeline}: ARM bearer authentication, retries of 429 and
 * 5xx honouring Retry-After, and polling of long-running operations through their Azure-AsyncOperation URL.
 */
public final class ArmClient {

    public static final String API_VERSION = "2024-05-01";
    public static final String DEFAULT_ENDPOINT = "https://management.azure.com";
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final HttpHeaderName ASYNC_OPERATION = HttpHeaderName.fromString("Azure-AsyncOperation");

    /** A successful answer: status, body (missing node when empty) and ETag. */
    public record Answer(int status, JsonNode body, String etag) {
    }

    private final HttpPipeline pipeline;
    private final URI endpoint;
    private final String scope;
    private final Duration pollInterval;

    /** {@code scope}: the token audience with /.default; {@code notices}: where retries are announced. */
    public ArmClient(URI endpoint, String scope, TokenCredential credential, int maxRetries, Duration retryDelay,
                     Duration pollInterval, PrintWriter notices) {
        this.endpoint = endpoint;
        this.scope = scope;
        this.pollInterval = pollInterval;
        HttpPipelinePolicy auth = bearer(endpoint, "--arm-endpoint", scope, credential);
        this.pipeline = new HttpPipelineBuilder()
                .httpClient(HttpClient.createDefault())
                .policies(new UserAgentPolicy("tokenmeter-cli"), new RequestIdPolicy(),
                        new RetryPolicy(new AnnouncedRetries(
                                new ExponentialBackoff(maxRetries, retryDelay, retryDelay.multipliedBy(30)), notices)),
                        auth)
                .build();
    }

    /** A wait of minutes without a word looks like a hang: each retry says why and which attempt it is. */
    private record AnnouncedRetries(RetryStrategy strategy, PrintWriter notices) implements RetryStrategy {
        @Override
        public int getMaxRetries() {
            return strategy.getMaxRetries();
        }

        @Override
        public Duration calculateRetryDelay(int retryAttempts) {
            return strategy.calculateRetryDelay(retryAttempts);
        }

        @Override
        public boolean shouldRetry(HttpResponse response) {
            return strategy.shouldRetry(response);
        }

        @Override
        public boolean shouldRetryCondition(RequestRetryCondition condition) {
            // a credential that cannot sign in will not sign in on the next attempt either
            boolean retry = (condition.getThrowable() == null || !Failures.signIn(condition.getThrowable()))
                    && strategy.shouldRetryCondition(condition);
            if (retry && condition.getTryCount() < getMaxRetries()) {
                HttpResponse r = condition.getResponse();
                String why = r != null ? "HTTP " + r.getStatusCode()
                        : condition.getThrowable() == null ? "no answer" : Failures.reason(condition.getThrowable());
                String what = r != null ? r.getRequest().getHttpMethod() + " " + r.getRequest().getUrl().getPath() : "request";
                notices.println("retrying " + what + " after " + why + " (retry " + (condition.getTryCount() + 1)
                        + " of " + getMaxRetries() + ")");
                notices.flush();
            }
            return retry;
        }
    }

    /**
     * Bearer tokens for {@code scope} on requests to {@code endpoint}: https, or plain http on this machine only;
     * {@code option} names where the endpoint came from in the error.
     */
    public static HttpPipelinePolicy bearer(URI endpoint, String option, String scope, TokenCredential credential) {
        return "https".equals(endpoint.getScheme())
                ? new BearerTokenAuthenticationPolicy(credential, scope)
                : loopbackBearer(endpoint, option, scope, credential);
    }

    /**
     * azure-core's bearer policy refuses plain http, rightly. A local emulator or test server on this machine is the
     * one place plain http is acceptable, so the token is sent there, and nowhere else.
     */
    private static HttpPipelinePolicy loopbackBearer(URI endpoint, String option, String scope, TokenCredential credential) {
        try {
            if (!InetAddress.getByName(endpoint.getHost()).isLoopbackAddress()) {
                throw new CliFailure(option + " " + endpoint + " is plain http on another machine: use https");
            }
        } catch (UnknownHostException e) {
            throw new CliFailure(option + " " + endpoint + ": unknown host " + endpoint.getHost());
        }
        TokenRequestContext context = new TokenRequestContext().addScopes(scope);
        return (callContext, next) -> credential.getToken(context).flatMap(token -> {
            callContext.getHttpRequest().setHeader(HttpHeaderName.AUTHORIZATION, "Bearer " + token.getToken());
            return next.process();
        });
    }

    /** GET; empty when the resource does not exist. */
    public Optional<Answer> get(String path, Map<String, String> query) {
        HttpResponse response = send(HttpMethod.GET, path, query, null, null);
        if (response.getStatusCode() == 404) {
            response.close();
            return Optional.empty();
        }
        return Optional.of(answer(HttpMethod.GET, path, response));
    }

    /** GET of a collection: a 404 means its parent does not exist and is thrown as an {@link ArmException}. */
    public Answer list(String path) {
        return list(path, Map.of());
    }

    /** A page of a collection ($skip, $top, $filter as the descriptions document them). */
    public Answer list(String path, Map<String, String> query) {
        return answer(HttpMethod.GET, path, send(HttpMethod.GET, path, query, null, null));
    }

    /** PUT, conditional when {@code ifMatch} is given; waits for a long-running operation to finish. */
    public Answer put(String path, JsonNode body, String ifMatch) {
        HttpResponse response = send(HttpMethod.PUT, path, Map.of(), body, ifMatch);
        String status = response.getHeaderValue(ASYNC_OPERATION);
        Answer answer = answer(HttpMethod.PUT, path, response);
        if (status != null) {
            awaitOperation(path, status);
            return get(path, Map.of()).orElseThrow(() -> new CliFailure("PUT " + path
                    + " reported success but the resource is not there; run the command again"));
        }
        return answer;
    }

    public void delete(String path, String ifMatch) {
        answer(HttpMethod.DELETE, path, send(HttpMethod.DELETE, path, Map.of(), null, ifMatch));
    }

    public Answer post(String path) {
        return answer(HttpMethod.POST, path, send(HttpMethod.POST, path, Map.of(), null, null));
    }

    private void awaitOperation(String path, String statusUrl) {
        for (int attempt = 0; ; attempt++) {
            HttpRequest poll = new HttpRequest(HttpMethod.GET, statusUrl);
            try (HttpResponse response = pipeline.sendSync(poll, Context.NONE)) {
                Answer a = answer(HttpMethod.GET, path + " (operation status)", response);
                String state = a.body().path("status").asText("");
                switch (state) {
                    case "Succeeded":
                        return;
                    case "Failed":
                    case "Canceled":
                        throw new CliFailure("PUT " + path + " " + state.toLowerCase() + " in Azure: "
                                + a.body().path("error").path("message").asText("no reason given")
                                + "; fix the cause and run the command again");
                    default:
                        sleep(attempt == 0 ? Duration.ZERO : pollInterval);
                }
            }
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliFailure("interrupted while waiting for Azure");
        }
    }

    private HttpResponse send(HttpMethod method, String path, Map<String, String> query, JsonNode body,
                              String ifMatch) {
        StringBuilder url = new StringBuilder(endpoint.toString().replaceAll("/+$", "")).append(path)
                .append("?api-version=").append(API_VERSION);
        query.forEach((k, v) -> url.append('&').append(k).append('=').append(URLEncoder.encode(v, StandardCharsets.UTF_8)));
        HttpRequest request = new HttpRequest(method, url.toString());
        if (ifMatch != null) {
            request.setHeader(HttpHeaderName.IF_MATCH, ifMatch);
        }
        if (body != null) {
            try {
                request.setHeader(HttpHeaderName.CONTENT_TYPE, "application/json");
                request.setBody(MAPPER.writeValueAsBytes(body));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        try {
            return pipeline.sendSync(request, Context.NONE);
        } catch (RuntimeException e) {
            if (Failures.signIn(e)) {
                throw new CliFailure("not signed in to Azure: no credential of DefaultAzureCredential got a token for "
                        + scope + ". Run 'az login' (or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or "
                        + "use a managed identity); AZURE_TOKEN_CREDENTIALS=dev skips managed identity on a workstation", e);
            }
            throw new CliFailure(method + " " + path + " could not reach Azure Resource Manager at " + endpoint
                    + ": " + Failures.reason(e) + "; check the network and --arm-endpoint", e);
        }
    }

    private static Answer answer(HttpMethod method, String path, HttpResponse response) {
        try (response) {
            String text = response.getBodyAsBinaryData() == null ? "" : response.getBodyAsBinaryData().toString();
            JsonNode body = text == null || text.isBlank() ? MAPPER.missingNode() : MAPPER.readTree(text);
            int status = response.getStatusCode();
            if (status / 100 != 2) {
                throw new ArmException(method.name(), path, status, body.path("error").path("code").asText(""),
                        body.path("error").path("message").asText(""));
            }
            return new Answer(status, body, response.getHeaderValue(HttpHeaderName.ETAG));
        } catch (IOException e) {
            throw new CliFailure(method + " " + path + ": Azure answered something that is not JSON ("
                    + e.getMessage() + ")");
        }
    }
}
