package dev.tokenmeter.policies.scenarios;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.tokenmeter.policies.harness.Scenario;
import dev.tokenmeter.policies.harness.ScenarioContext;
import dev.tokenmeter.policies.harness.SendRequestTransport;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Reads a scenario file (docs/policy-tests.md describes the format). Strict: an unknown key, a value of the wrong
 * type or a missing file it refers to is a {@link MalformedScenario} naming the file and the field, because a
 * misspelt expectation that is silently ignored would pass for the wrong reason.
 */
public final class ScenarioFileReader {

    /** The host the requests are made to; only the path matters to the policies. */
    public static final String GATEWAY_URL = "https://" + ScenarioContext.SERVICE + ".azure-api.net";

    private static final YAMLMapper YAML = new YAMLMapper();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> FAILURES = Set.of("timeout", "connection-failure", "request-failure");

    private ScenarioFileReader() {
    }

    public static ScenarioFile read(Path file) {
        JsonNode root;
        try {
            root = YAML.readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new MalformedScenario(file, "", "not YAML: " + yamlProblem(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new MalformedScenario(file, "", "cannot read it: " + e.getMessage());
        }
        Fields top = new Fields(file, "", root, Set.of("policy", "named-values", "scenarios"));
        String policy = top.text("policy").orElse(null);
        Map<String, String> namedValues = top.stringMap("named-values");
        JsonNode list = top.required("scenarios");
        if (!list.isArray() || list.isEmpty()) {
            throw new MalformedScenario(file, "scenarios", "must be a list of at least one scenario");
        }
        List<ScenarioCase> cases = new ArrayList<>();
        Set<String> names = new java.util.HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            ScenarioCase c = scenario(file, "scenarios[" + i + "]", list.get(i));
            if (!names.add(c.name())) {
                throw new MalformedScenario(file, "scenarios[" + i + "].name", "'" + c.name() + "' is the name of an earlier scenario too");
            }
            cases.add(c);
        }
        return new ScenarioFile(file, policy, namedValues, List.copyOf(cases));
    }

    /** SnakeYAML's multi-line message in one line: its last statement and the last position it names. */
    private static String yamlProblem(String message) {
        String problem = message.lines().filter(l -> !l.isBlank() && !l.startsWith(" ")).reduce((a, b) -> b).orElse(message);
        java.util.regex.Matcher at = Pattern.compile("line (\\d+), column (\\d+)").matcher(message);
        String where = null;
        while (at.find()) {
            where = "line " + at.group(1) + ", column " + at.group(2);
        }
        return problem.strip() + (where == null ? "" : " (" + where + ")");
    }

    private static ScenarioCase scenario(Path file, String at, JsonNode node) {
        Fields f = new Fields(file, at, node, Set.of("name", "request", "identity", "gateway", "tokens-consumed",
                "named-values", "send-requests", "backend", "expect"));
        String name = f.text("name").orElseThrow(() -> new MalformedScenario(file, at + ".name", "missing: every scenario needs a name"));

        Fields request = f.object("request", Set.of("method", "path", "url", "headers", "body", "body-file"));
        String method = request.text("method").orElse("POST");
        String url = request.text("url").orElse(null);
        Optional<String> path = request.text("path");
        if (url == null && path.isEmpty() || url != null && path.isPresent()) {
            throw new MalformedScenario(file, at + ".request", "give exactly one of path (e.g. /openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21) and url");
        }
        if (path.isPresent()) {
            if (!path.get().startsWith("/")) {
                throw new MalformedScenario(file, at + ".request.path", "must start with /, was '" + path.get() + "'");
            }
            url = GATEWAY_URL + path.get();
        }
        try {
            java.net.URI uri = new java.net.URI(url);
            if (!uri.isAbsolute() || uri.getHost() == null) {
                throw new java.net.URISyntaxException(url, "not an absolute http(s) URL");
            }
        } catch (java.net.URISyntaxException e) {
            throw new MalformedScenario(file, at + ".request." + (path.isPresent() ? "path" : "url"), "not a URL: " + e.getMessage());
        }
        Map<String, List<String>> headers = new LinkedHashMap<>(request.headers("headers"));
        String body = request.body("body", "body-file");

        Scenario.Token token = null;
        String jwt = null;
        Scenario.Subscription subscription = null;
        String apimUser = null;
        if (f.has("identity")) {
            Fields identity = f.object("identity", Set.of("token", "subscription", "user"));
            if (identity.has("token")) {
                JsonNode t = identity.required("token");
                String tokenAt = at + ".identity.token";
                if (t.isTextual() && t.asText().equals("invalid")) {
                    token = new Scenario.Token.Invalid("TokenSignatureInvalid");
                    jwt = "not.a.token";
                } else {
                    Fields tf = new Fields(file, tokenAt, t, Set.of("claims", "invalid"));
                    if (tf.has("invalid")) {
                        token = new Scenario.Token.Invalid(tf.text("invalid").orElseThrow());
                        jwt = "not.a.token";
                    } else {
                        Map<String, List<String>> claims = tf.headers("claims");
                        if (claims.isEmpty()) {
                            throw new MalformedScenario(file, tokenAt, "give the validated token's claims (claims: {oid: ...}), or 'invalid'");
                        }
                        token = new Scenario.Token.Valid(claims);
                        jwt = unsignedJwt(claims);
                    }
                }
            }
            if (identity.has("subscription")) {
                Fields s = identity.object("subscription", Set.of("id", "product"));
                subscription = new Scenario.Subscription(s.text("id").orElseThrow(() ->
                        new MalformedScenario(file, at + ".identity.subscription.id", "missing")), s.text("product").orElse(null));
            }
            apimUser = identity.text("user").orElse(null);
        }
        if (jwt != null) {
            headers.putIfAbsent("Authorization", List.of("Bearer " + jwt));
        }
        int tokensConsumed = f.integer("tokens-consumed").orElse(0);
        Map<String, String> namedValues = f.stringMap("named-values");
        String gateway = f.text("gateway").orElse(ScenarioContext.GATEWAY);
        Scenario.Backend backend = backend(file, at + ".backend", f);
        Scenario scenario = new Scenario(name, method, url, Map.copyOf(headers), body, subscription, apimUser, token, backend,
                tokensConsumed, namedValues, gateway, Scenario.ConsumedAs.INT, Scenario.LimitRejection.RESPONSE);
        return new ScenarioCase(name, scenario, calls(file, at + ".send-requests", f), expectations(file, at + ".expect", f));
    }

    private static Scenario.Backend backend(Path file, String at, Fields scenario) {
        if (!scenario.has("backend")) {
            return new Scenario.Backend.Responds(200, "application/json", "{}");
        }
        Fields b = scenario.object("backend", Set.of("status", "headers", "body", "body-file", "stream-file", "unreachable"));
        if (b.has("unreachable")) {
            return new Scenario.Backend.Unreachable(b.text("unreachable").orElse("the backend did not answer"));
        }
        int status = b.integer("status").orElse(200);
        Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        headers.putAll(b.headers("headers"));
        String body;
        String contentType;
        if (b.has("stream-file")) {
            if (b.has("body") || b.has("body-file")) {
                throw new MalformedScenario(file, at, "give one of body, body-file and stream-file");
            }
            body = b.file("stream-file");
            contentType = "text/event-stream";
        } else {
            body = b.body("body", "body-file");
            contentType = "application/json";
        }
        List<String> given = headers.remove("Content-Type");
        if (given != null) {
            contentType = String.join(",", given);
        }
        return new Scenario.Backend.Responds(status, contentType, body == null ? "" : body, headers);
    }

    private static List<StubbedCall> calls(Path file, String at, Fields scenario) {
        if (!scenario.has("send-requests")) {
            return List.of();
        }
        JsonNode list = scenario.required("send-requests");
        if (!list.isArray()) {
            throw new MalformedScenario(file, at, "must be a list of answers");
        }
        List<StubbedCall> calls = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            String here = at + "[" + i + "]";
            Fields c = new Fields(file, here, list.get(i), Set.of("method", "url", "url-matches", "status", "headers", "body", "body-file", "failure"));
            String url = c.text("url").orElse(null);
            Pattern pattern = null;
            if (c.has("url-matches")) {
                try {
                    pattern = Pattern.compile(c.text("url-matches").orElseThrow());
                } catch (PatternSyntaxException e) {
                    throw new MalformedScenario(file, here + ".url-matches", "not a regular expression: " + e.getDescription());
                }
            }
            if ((url == null) == (pattern == null)) {
                throw new MalformedScenario(file, here, "give exactly one of url and url-matches");
            }
            SendRequestTransport.Answer answer;
            if (c.has("failure")) {
                String failure = c.text("failure").orElseThrow();
                if (!FAILURES.contains(failure)) {
                    throw new MalformedScenario(file, here + ".failure", "must be one of " + new java.util.TreeSet<>(FAILURES) + ", was '" + failure + "'");
                }
                String reason = failure.equals("timeout") ? "Timeout" : failure.equals("connection-failure") ? "ConnectionFailure" : "RequestFailure";
                answer = new SendRequestTransport.Answer.Failure(reason, failure + " (scenario)", Duration.ZERO);
            } else {
                Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
                headers.putAll(c.headers("headers"));
                String body = c.body("body", "body-file");
                answer = new SendRequestTransport.Answer.Response(c.integer("status").orElse(200), headers, body == null ? "" : body, Duration.ZERO);
            }
            calls.add(new StubbedCall(c.text("method").orElse(null), url, pattern, answer));
        }
        return List.copyOf(calls);
    }

    private static Expectations expectations(Path file, String at, Fields scenario) {
        if (!scenario.has("expect")) {
            throw new MalformedScenario(file, at, "missing: a scenario without expectations checks nothing");
        }
        Fields e = scenario.object("expect", Set.of("status", "headers", "body-contains", "backend-called", "usage-record", "variables"));
        Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        if (e.has("headers")) {
            JsonNode h = e.required("headers");
            if (!h.isObject()) {
                throw new MalformedScenario(file, at + ".headers", "must be a map of header name to value (null: absent)");
            }
            h.fields().forEachRemaining(entry -> {
                if (!entry.getValue().isNull() && !entry.getValue().isValueNode()) {
                    throw new MalformedScenario(file, at + ".headers." + entry.getKey(), "must be a value or null");
                }
                headers.put(entry.getKey(), entry.getValue().isNull() ? null : entry.getValue().asText());
            });
        }
        Optional<Expectations.UsageExpectation> usage = Optional.empty();
        if (e.has("usage-record")) {
            JsonNode u = e.required("usage-record");
            if (u.isTextual() && u.asText().equals("none")) {
                usage = Optional.of(new Expectations.UsageExpectation.None());
            } else if (u.isObject()) {
                Map<String, JsonNode> fields = new LinkedHashMap<>();
                u.fields().forEachRemaining(entry -> fields.put(entry.getKey(), entry.getValue()));
                usage = Optional.of(new Expectations.UsageExpectation.Fields(fields));
            } else {
                throw new MalformedScenario(file, at + ".usage-record", "must be 'none' or a map of record fields (user_id: ..., prompt_tokens: ...)");
            }
        }
        Map<String, JsonNode> variables = new LinkedHashMap<>();
        if (e.has("variables")) {
            JsonNode v = e.required("variables");
            if (!v.isObject()) {
                throw new MalformedScenario(file, at + ".variables", "must be a map of variable name to value");
            }
            v.fields().forEachRemaining(entry -> variables.put(entry.getKey(), entry.getValue()));
        }
        return new Expectations(e.integer("status"), headers, e.text("body-contains"), e.bool("backend-called"), usage, variables);
    }

    /** An unsigned compact JWT carrying the claims, so expressions that decode the token (AsJwt) see them; validation is the scenario's verdict. */
    static String unsignedJwt(Map<String, List<String>> claims) {
        ObjectNode payload = JSON.createObjectNode();
        claims.forEach((k, v) -> {
            if (v.size() == 1) {
                payload.put(k, v.get(0));
            } else {
                v.forEach(payload.withArray(k)::add);
            }
        });
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        return b64.encodeToString("{\"alg\":\"none\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8)) + "."
                + b64.encodeToString(payload.toString().getBytes(StandardCharsets.UTF_8)) + ".";
    }

    /** One mapping of the file, read with its path for messages; unknown keys are refused. */
    private static final class Fields {
        private final Path file;
        private final String at;
        private final JsonNode node;

        Fields(Path file, String at, JsonNode node, Set<String> allowed) {
            this.file = file;
            this.at = at;
            if (node == null || !node.isObject()) {
                throw new MalformedScenario(file, at, "must be a map" + (node == null || node.isMissingNode() ? "" : ", was " + kind(node)));
            }
            this.node = node;
            for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!allowed.contains(name)) {
                    throw new MalformedScenario(file, path(name), "unknown field (known here: " + String.join(", ", new java.util.TreeSet<>(allowed)) + ")");
                }
            }
        }

        String path(String name) {
            return at.isEmpty() ? name : at + "." + name;
        }

        boolean has(String name) {
            return node.has(name) && !node.get(name).isNull();
        }

        JsonNode required(String name) {
            if (!has(name)) {
                throw new MalformedScenario(file, path(name), "missing");
            }
            return node.get(name);
        }

        Fields object(String name, Set<String> allowed) {
            return new Fields(file, path(name), required(name), allowed);
        }

        Optional<String> text(String name) {
            if (!has(name)) {
                return Optional.empty();
            }
            JsonNode v = node.get(name);
            if (!v.isValueNode()) {
                throw new MalformedScenario(file, path(name), "must be a text value, was " + kind(v));
            }
            return Optional.of(v.asText());
        }

        Optional<Integer> integer(String name) {
            if (!has(name)) {
                return Optional.empty();
            }
            JsonNode v = node.get(name);
            if (!v.isInt()) {
                throw new MalformedScenario(file, path(name), "must be a whole number, was " + (v.isValueNode() ? "'" + v.asText() + "'" : kind(v)));
            }
            return Optional.of(v.asInt());
        }

        Optional<Boolean> bool(String name) {
            if (!has(name)) {
                return Optional.empty();
            }
            JsonNode v = node.get(name);
            if (!v.isBoolean()) {
                throw new MalformedScenario(file, path(name), "must be true or false, was '" + v.asText() + "'");
            }
            return Optional.of(v.asBoolean());
        }

        Map<String, String> stringMap(String name) {
            Map<String, String> out = new LinkedHashMap<>();
            if (!has(name)) {
                return out;
            }
            JsonNode v = node.get(name);
            if (!v.isObject()) {
                throw new MalformedScenario(file, path(name), "must be a map of name to value");
            }
            v.fields().forEachRemaining(e -> {
                if (!e.getValue().isValueNode() || e.getValue().isNull()) {
                    throw new MalformedScenario(file, path(name) + "." + e.getKey(), "must be a value");
                }
                out.put(e.getKey(), e.getValue().asText());
            });
            return out;
        }

        /** Header-like maps: a value or a list of values per name. */
        Map<String, List<String>> headers(String name) {
            Map<String, List<String>> out = new LinkedHashMap<>();
            if (!has(name)) {
                return out;
            }
            JsonNode v = node.get(name);
            if (!v.isObject()) {
                throw new MalformedScenario(file, path(name), "must be a map of name to a value or a list of values");
            }
            v.fields().forEachRemaining(e -> {
                List<String> values = new ArrayList<>();
                if (e.getValue().isArray()) {
                    e.getValue().forEach(x -> values.add(x.asText()));
                } else if (e.getValue().isValueNode() && !e.getValue().isNull()) {
                    values.add(e.getValue().asText());
                } else {
                    throw new MalformedScenario(file, path(name) + "." + e.getKey(), "must be a value or a list of values");
                }
                out.put(e.getKey(), List.copyOf(values));
            });
            return out;
        }

        /** A body given inline (text as it is; a map or list as JSON) or as a file next to the scenario file. */
        String body(String inline, String fromFile) {
            if (has(inline) && has(fromFile)) {
                throw new MalformedScenario(file, at, "give one of " + inline + " and " + fromFile);
            }
            if (has(fromFile)) {
                return file(fromFile);
            }
            if (!has(inline)) {
                return null;
            }
            JsonNode v = node.get(inline);
            if (v.isTextual()) {
                return v.asText();
            }
            try {
                return JSON.writeValueAsString(v);
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }

        String file(String name) {
            String relative = text(name).orElseThrow();
            Path resolved = file.toAbsolutePath().getParent().resolve(relative).normalize();
            try {
                return Files.readString(resolved, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new MalformedScenario(file, path(name), "cannot read " + relative + " (" + (e instanceof java.nio.file.NoSuchFileException
                        ? "no such file" : e.getMessage()) + ")");
            }
        }

        private static String kind(JsonNode v) {
            return v.isArray() ? "a list" : v.isObject() ? "a map" : "'" + v.asText() + "'";
        }
    }
}
