package dev.tokenmeter.testkit;

import com.atlassian.oai.validator.OpenApiInteractionValidator;
import com.atlassian.oai.validator.model.Request;
import com.atlassian.oai.validator.model.SimpleRequest;
import com.atlassian.oai.validator.report.ValidationReport;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;

/**
 * A local HTTP server that plays OpenMeter in tests. Every request is checked against OpenMeter's own OpenAPI
 * document ({@code ../shared/reference/openmeter/openapi.yaml}: path, method, parameters, content type, body);
 * ingested CloudEvents are also checked against the CloudEvents JSON schema shipped beside it. A request the real
 * service would reject is answered 400, like OpenMeter would, and recorded in {@link #violations()} so the test
 * fails. What the server answers to valid requests is up to the test ({@link #route}); by default ingest answers
 * 204 and records the events.
 */
public final class OpenMeterContractServer implements AutoCloseable {

    /** What a route answers. */
    public record Reply(int status, Map<String, String> headers, String body) {
        public static Reply of(int status) {
            return new Reply(status, Map.of(), "");
        }

        public static Reply json(int status, String body) {
            return new Reply(status, Map.of("Content-Type", "application/json"), body);
        }

        public static Reply problem(int status, String detail) {
            String body = "{\"type\":\"about:blank\",\"title\":\"error\",\"status\":" + status + ",\"detail\":"
                    + quote(detail) + "}";
            return new Reply(status, Map.of("Content-Type", "application/problem+json"), body);
        }
    }

    /** One request as the server saw it. */
    public record Received(String method, String path, String query, Map<String, List<String>> headers, byte[] body) {
        public String header(String name) {
            for (var e : headers.entrySet()) {
                if (e.getKey().equalsIgnoreCase(name)) {
                    return e.getValue().isEmpty() ? null : e.getValue().get(0);
                }
            }
            return null;
        }

        public String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    @FunctionalInterface
    public interface Route {
        Reply handle(Received request) throws Exception;
    }

    private record Binding(String method, Pattern path, Route route) {
    }

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Set<String> INGEST_TYPES = Set.of(
            "application/cloudevents+json", "application/cloudevents-batch+json", "application/json");

    private final LoopbackHttpServer http;
    private final OpenApiInteractionValidator validator;
    private final JsonSchema cloudEventSchema;
    private final List<Binding> bindings = new CopyOnWriteArrayList<>();
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final List<JsonNode> ingested = new CopyOnWriteArrayList<>();
    private final List<String> violations = new CopyOnWriteArrayList<>();

    /** Parsing the 26,000-line OpenAPI document takes seconds: once per JVM, shared by every server. */
    private static final class Contracts {
        static final OpenApiInteractionValidator VALIDATOR = OpenApiInteractionValidator
                .createForSpecificationUrl(SharedReference.resolve("openmeter/openapi.yaml").toUri().toString())
                .build();
        static final JsonSchema CLOUD_EVENT_SCHEMA = loadCloudEventSchema();
        /** "METHOD /path/{template}" of every operation the document marks deprecated. */
        static final List<Pattern> DEPRECATED = loadDeprecated();

        private static List<Pattern> loadDeprecated() {
            var result = new io.swagger.v3.parser.OpenAPIV3Parser().readLocation(
                    SharedReference.resolve("openmeter/openapi.yaml").toUri().toString(), null, null);
            List<Pattern> out = new ArrayList<>();
            result.getOpenAPI().getPaths().forEach((template, item) -> item.readOperationsMap().forEach((method, op) -> {
                if (Boolean.TRUE.equals(op.getDeprecated())) {
                    String regex = Pattern.quote(template).replaceAll("\\{[^}/]+\\}", "\\\\E[^/]+\\\\Q");
                    out.add(Pattern.compile(method.name() + " " + regex));
                }
            }));
            return List.copyOf(out);
        }

        private static JsonSchema loadCloudEventSchema() {
            try (InputStream in = Files.newInputStream(SharedReference.resolve("openmeter/cloudevents.spec.json"))) {
                return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V7).getSchema(in);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private OpenMeterContractServer(int port) throws IOException {
        validator = Contracts.VALIDATOR;
        cloudEventSchema = Contracts.CLOUD_EVENT_SCHEMA;
        route("POST", "/api/v1/events", request -> Reply.of(204));
        // last: requests may arrive as soon as it listens
        http = LoopbackHttpServer.start("openmeter-contract-server", port, this::exchange);
    }

    public static OpenMeterContractServer start() {
        return start(0);
    }

    /** On a given loopback port, e.g. one a client was already failing to reach. */
    public static OpenMeterContractServer start(int port) {
        try {
            return new OpenMeterContractServer(port);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public URI baseUri() {
        return http.baseUri();
    }

    /** Answers requests whose method and path (regex, whole path) match; the newest route wins. */
    public OpenMeterContractServer route(String method, String pathRegex, Route route) {
        bindings.add(0, new Binding(method, Pattern.compile(pathRegex), route));
        return this;
    }

    /** Every request received, valid or not, in arrival order. */
    public List<Received> requests() {
        return Collections.unmodifiableList(received);
    }

    /** Every CloudEvent of every ingest request that passed the contract and was answered with a 2xx. */
    public List<JsonNode> ingestedEvents() {
        return Collections.unmodifiableList(ingested);
    }

    /** Requests to operations the OpenAPI document marks deprecated, as "METHOD path". */
    public List<String> deprecatedCalls() {
        return received.stream().map(r -> r.method() + " " + r.path())
                .filter(call -> Contracts.DEPRECATED.stream().anyMatch(p -> p.matcher(call).matches())).toList();
    }

    /** Contract violations: requests the real OpenMeter would reject. Tests assert this stays empty. */
    public List<String> violations() {
        return Collections.unmodifiableList(violations);
    }

    private void exchange(HttpExchange exchange) throws IOException {
        try (exchange) {
            byte[] body = exchange.getRequestBody().readAllBytes();
            URI uri = exchange.getRequestURI();
            Received request = new Received(exchange.getRequestMethod(), uri.getRawPath(), uri.getRawQuery(),
                    Map.copyOf(exchange.getRequestHeaders()), body);
            received.add(request);

            List<String> problems = check(request);
            Reply reply;
            if (!problems.isEmpty()) {
                String message = request.method() + " " + request.path() + ": " + String.join("; ", problems);
                violations.add(message);
                reply = Reply.problem(400, message);
            } else {
                reply = dispatch(request);
            }
            byte[] out = reply.body().getBytes(StandardCharsets.UTF_8);
            reply.headers().forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
            boolean noBody = reply.status() == 204 || reply.status() == 304 || out.length == 0;
            exchange.sendResponseHeaders(reply.status(), noBody ? -1 : out.length);
            if (!noBody) {
                exchange.getResponseBody().write(out);
            }
        }
    }

    private Reply dispatch(Received request) {
        for (Binding b : bindings) {
            if (b.method().equalsIgnoreCase(request.method()) && b.path().matcher(request.path()).matches()) {
                try {
                    Reply reply = b.route().handle(request);
                    if (isIngest(request) && reply.status() / 100 == 2) {
                        recordIngested(request);
                    }
                    return reply;
                } catch (Exception e) {
                    // a test's route threw: behave like a crashing server, the client must cope
                    return Reply.problem(500, "test route failed: " + e);
                }
            }
        }
        return Reply.problem(404, "no route for " + request.method() + " " + request.path() + " in this test");
    }

    private static boolean isIngest(Received request) {
        return request.method().equals("POST") && request.path().equals("/api/v1/events");
    }

    private void recordIngested(Received request) {
        try {
            JsonNode node = MAPPER.readTree(request.body());
            if (node.isArray()) {
                node.forEach(ingested::add);
            } else {
                ingested.add(node);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private List<String> check(Received request) {
        List<String> problems = new ArrayList<>();
        String contentType = request.header("Content-Type");
        if (request.body().length > 0 && contentType == null) {
            problems.add("body without Content-Type");
        }
        // OpenMeter's v1 ingest compares the media type as a whole string: a charset suffix is refused
        if (isIngest(request) && (contentType == null || !INGEST_TYPES.contains(contentType))) {
            problems.add("Content-Type '" + contentType + "' is not exactly one of " + INGEST_TYPES);
        }
        ValidationReport report = validate(request, request.path());
        // The validator reads a path parameter whose schema is not a plain type (the customer routes'
        // ULIDOrExternalKey is an anyOf of two strings) as JSON and fails on every bare value. Such a segment is
        // validated again as the JSON string it is, so the document's own schema still judges the value.
        String path = request.path();
        for (int attempt = 0; attempt < 4; attempt++) {
            String quoted = quoteJsonPathParameter(report, path);
            if (quoted == null) {
                break;
            }
            path = quoted;
            report = validate(request, path);
        }
        report.getMessages().stream()
                .filter(m -> m.getLevel() == ValidationReport.Level.ERROR)
                .forEach(m -> problems.add(m.getKey() + ": " + m.getMessage()));
        if (isIngest(request) && problems.isEmpty()) {
            problems.addAll(checkCloudEvents(request.body()));
        }
        return problems;
    }

    /** The path with the first segment the validator could not parse as JSON quoted as a JSON string, or null. */
    private static String quoteJsonPathParameter(ValidationReport report, String path) {
        for (ValidationReport.Message m : report.getMessages()) {
            if (m.getLevel() != ValidationReport.Level.ERROR || !m.getKey().equals("validation.request.parameter.schema.invalidJson")) {
                continue;
            }
            var context = m.getContext().orElse(null);
            if (context == null || context.getParameter().isEmpty() || context.getApiOperation().isEmpty()
                    || !"path".equals(context.getParameter().get().getIn())) {
                continue;
            }
            String[] template = context.getApiOperation().get().getApiPath().original().split("/", -1);
            String[] actual = path.split("/", -1);
            String name = "{" + context.getParameter().get().getName() + "}";
            for (int i = 0; i < template.length && i < actual.length; i++) {
                if (template[i].equals(name) && !actual[i].startsWith("%22")) {
                    String value = URLDecoder.decode(actual[i], StandardCharsets.UTF_8);
                    actual[i] = java.net.URLEncoder.encode(quote(value), StandardCharsets.UTF_8).replace("+", "%20");
                    return String.join("/", actual);
                }
            }
        }
        return null;
    }

    private ValidationReport validate(Received request, String path) {
        SimpleRequest.Builder builder = new SimpleRequest.Builder(Request.Method.valueOf(request.method()), path);
        request.headers().forEach((name, values) -> builder.withHeader(name, values));
        if (request.query() != null) {
            for (String pair : request.query().split("&")) {
                int eq = pair.indexOf('=');
                String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                builder.withQueryParam(name, value);
            }
        }
        if (request.body().length > 0) {
            builder.withBody(request.body());
        }
        return validator.validateRequest(builder.build());
    }

    private List<String> checkCloudEvents(byte[] body) {
        List<String> problems = new ArrayList<>();
        try {
            JsonNode node = MAPPER.readTree(body);
            List<JsonNode> events = new ArrayList<>();
            if (node.isArray()) {
                node.forEach(events::add);
            } else {
                events.add(node);
            }
            for (int i = 0; i < events.size(); i++) {
                for (ValidationMessage m : cloudEventSchema.validate(events.get(i))) {
                    problems.add("event[" + i + "] " + m.getMessage());
                }
            }
        } catch (IOException e) {
            problems.add("body is not JSON: " + e.getMessage());
        }
        return problems;
    }

    private static String quote(String s) {
        try {
            return MAPPER.writeValueAsString(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        http.close();
    }
}
