package dev.tokenmeter.cli.openmeter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Failures;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** OpenMeter's v1 REST API: JSON in and out, bearer token, errors turned into messages that say what to do. */
public final class OpenMeterClient {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final URI base;
    private final String token;

    public OpenMeterClient(URI base, String token) {
        this.base = base;
        this.token = token;
    }

    public URI base() {
        return base;
    }

    public JsonNode get(String path, List<Map.Entry<String, String>> query) {
        StringBuilder p = new StringBuilder(path);
        char sep = '?';
        for (Map.Entry<String, String> q : query) {
            p.append(sep).append(URLEncoder.encode(q.getKey(), StandardCharsets.UTF_8)).append('=')
                    .append(URLEncoder.encode(q.getValue(), StandardCharsets.UTF_8));
            sep = '&';
        }
        return send("GET", p.toString(), null);
    }

    public JsonNode post(String path, JsonNode body) {
        return send("POST", path, body);
    }

    public JsonNode put(String path, JsonNode body) {
        return send("PUT", path, body);
    }

    private JsonNode send(String method, String path, JsonNode body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path))
                .timeout(Duration.ofSeconds(60))
                .header("Accept", "application/json");
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        try {
            if (body != null) {
                request.header("Content-Type", "application/json")
                        .method(method, HttpRequest.BodyPublishers.ofByteArray(MAPPER.writeValueAsBytes(body)));
            } else {
                request.method(method, HttpRequest.BodyPublishers.noBody());
            }
            HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            String text = response.body();
            JsonNode json = text == null || text.isBlank() ? MAPPER.missingNode() : MAPPER.readTree(text);
            if (response.statusCode() / 100 != 2) {
                throw new CliFailure(describe(method, path, response.statusCode(), json));
            }
            return json;
        } catch (IOException e) {
            throw new CliFailure("OpenMeter " + method + " " + base + path + " failed: " + Failures.reason(e)
                    + "; check --openmeter-url (or TOKENMETER_OPENMETER_URL) and the network", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliFailure(method + " " + path + " interrupted");
        }
    }

    private static String describe(String method, String path, int status, JsonNode problem) {
        String detail = problem.path("detail").asText(problem.path("title").asText(""));
        String what = "OpenMeter " + method + " " + path + " failed: HTTP " + status
                + (detail.isBlank() ? "" : " (" + detail + ")") + ". ";
        return what + switch (status) {
            case 401 -> "OpenMeter did not accept the token: set TOKENMETER_OPENMETER_TOKEN (or --openmeter-token) to a valid API token.";
            case 403 -> "The token may not do this: use a token with access to meters, features and entitlements.";
            case 404 -> path.startsWith("/api/v1/meters/")
                    ? "The meter does not exist: run 'tokenmeter openmeter meters apply' (with the same --mapping and --slug-prefix)."
                    : "Not found: check the name given to the command.";
            case 409 -> "It already exists in a different form: look at it in OpenMeter and remove or rename it.";
            case 429 -> "OpenMeter is rate limiting: wait a moment and run the command again.";
            default -> status >= 500 ? "OpenMeter failed on its side: try again later."
                    : "OpenMeter refused the request: check the values given to the command.";
        };
    }
}
