package dev.tokenmeter.testkit;

import com.atlassian.oai.validator.OpenApiInteractionValidator;
import com.atlassian.oai.validator.model.Request;
import com.atlassian.oai.validator.model.SimpleRequest;
import com.atlassian.oai.validator.model.SimpleResponse;
import com.atlassian.oai.validator.report.ValidationReport;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A local server that plays the two Azure Monitor data APIs {@code tokenmeter reconcile} reads: the Metrics API
 * (api-version 2023-10-01, {@code GET /{resourceUri}/providers/Microsoft.Insights/metrics} on the ARM endpoint) and
 * the Log Analytics query API ({@code POST /v1/workspaces/{workspaceId}/query}).
 *
 * <p>Every request is checked against the Swagger descriptions in {@code ../shared/reference/azure-monitor/}
 * (operation, parameters, body), and every answer the server gives is checked against the same descriptions before
 * it leaves, so a test can neither send nor be fed a shape the real service does not use. A request the real service
 * would reject is answered 400 in the ARM error shape and recorded in {@link #violations()}; a request without a
 * bearer token is answered 401.
 *
 * <p>Answers are computed from what the test seeds, in the shapes of Microsoft's examples: metric values per resource,
 * metric, dimension value and time ({@link #metric}), honouring timespan, interval, metricnames, the split by a
 * dimension ({@code $filter=Dim eq '*'}) and {@code top} (10 series when absent, as documented; dimension names come
 * back lower case as in GetMetric.json); query results per workspace are whatever {@link #onQuery} returns for the
 * query text (the server cannot run KQL, the test states the rows the query would produce).
 */
public final class AzureMonitorContractServer implements AutoCloseable {

    public static final String METRICS_API_VERSION = "2023-10-01";
    private static final String METRICS_SPEC =
            "azure-monitor/specification/monitor/resource-manager/Microsoft.Insights/stable/2023-10-01/metrics_API.json";
    private static final String LOGS_SPEC =
            "azure-monitor/specification/operationalinsights/data-plane/Microsoft.OperationalInsights/stable/v1/OperationalInsights.json";
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** {resourceUri} holds slashes (x-ms-skip-url-encoding); a resource id is /subscriptions/.../providers/NS/TYPE/NAME. */
    private static final Pattern METRICS_PATH = Pattern.compile(
            "^(/subscriptions/[^/]+/resourceGroups/[^/]+/providers/[^/]+/[^/]+/[^/]+)/providers/Microsoft\\.Insights/metrics$",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern QUERY_PATH = Pattern.compile("^/v1(/workspaces/([^/]+)/query)$");
    private static final Pattern SPLIT_FILTER = Pattern.compile("^\\s*(\\w+)\\s+eq\\s+'\\*'\\s*$");

    /** One request as the server saw it. */
    public record Received(String method, String path, Map<String, String> query, Map<String, List<String>> headers,
                           String body) {
    }

    /** A Log Analytics result table: typed columns (ColumnDataType names) and rows of cells. */
    public record LogTable(List<Column> columns, List<List<Object>> rows) {
        public record Column(String name, String type) {
        }
    }

    private record Point(String resource, String metric, String dimensionValue, Instant time, long total) {
    }

    private final LoopbackHttpServer http;
    private final List<Point> points = new CopyOnWriteArrayList<>();
    private final Map<String, Function<String, LogTable>> workspaces = new ConcurrentHashMap<>();
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final List<String> violations = new CopyOnWriteArrayList<>();
    private final java.util.Set<String> denied = ConcurrentHashMap.newKeySet();

    /** Parsing the descriptions takes a moment: once per JVM. */
    private static final class Contracts {

        /**
         * The descriptions point at ErrorResponse in common-types/resource-management/v1/types.json, which the
         * reference copy of that file lacks (see its SOURCE.txt); the parser refuses the whole document then. The
         * folder is read into a temporary copy whose refs name the same definition in v2/types.json instead.
         */
        private static final java.nio.file.Path PATCHED = patchedCopy();

        private static java.nio.file.Path patchedCopy() {
            try {
                java.nio.file.Path source = SharedReference.resolve("azure-monitor");
                java.nio.file.Path target = java.nio.file.Files.createTempDirectory("tokenmeter-azure-monitor-spec");
                try (var files = java.nio.file.Files.walk(source)) {
                    for (java.nio.file.Path f : files.filter(java.nio.file.Files::isRegularFile).toList()) {
                        java.nio.file.Path out = target.resolve(source.relativize(f).toString());
                        java.nio.file.Files.createDirectories(out.getParent());
                        java.nio.file.Files.writeString(out, java.nio.file.Files.readString(f).replace(
                                "resource-management/v1/types.json#/definitions/ErrorResponse",
                                "resource-management/v2/types.json#/definitions/ErrorResponse"));
                        out.toFile().deleteOnExit();
                    }
                }
                return target;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        static final OpenApiInteractionValidator METRICS = validator(METRICS_SPEC);
        static final OpenApiInteractionValidator LOGS = validator(LOGS_SPEC);

        private static OpenApiInteractionValidator validator(String spec) {
            java.nio.file.Path file = PATCHED.resolve(spec.substring("azure-monitor/".length()));
            return OpenApiInteractionValidator.createForSpecificationUrl(file.toUri().toString())
                    // the client authenticates with a bearer token, which the descriptions model as OAuth2 flows
                    .withLevelResolver(com.atlassian.oai.validator.report.LevelResolver.create()
                            .withLevel("validation.request.security", ValidationReport.Level.IGNORE).build())
                    .build();
        }
    }

    private AzureMonitorContractServer() throws IOException {
        // last: requests may arrive as soon as it listens
        http = LoopbackHttpServer.start("azure-monitor-contract-server", 0, this::exchange);
    }

    public static AzureMonitorContractServer start() {
        try {
            return new AzureMonitorContractServer();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The endpoint for both APIs: give it as the ARM endpoint and as the Log Analytics endpoint. */
    public URI baseUri() {
        return http.baseUri();
    }

    /** Seeds one value (the Total of one minute or hour) of a platform metric of a resource, split by a dimension. */
    public AzureMonitorContractServer metric(String resourceId, String metric, String dimensionValue, Instant time, long total) {
        points.add(new Point(resourceId.toLowerCase(Locale.ROOT), metric, dimensionValue, time, total));
        return this;
    }

    /** What queries on a workspace return (by query text); a workspace not given here answers 404 as Azure does. */
    public AzureMonitorContractServer onQuery(String workspaceId, Function<String, LogTable> answer) {
        workspaces.put(workspaceId.toLowerCase(Locale.ROOT), answer);
        return this;
    }

    /** From now on, reads of this resource or workspace are refused 403 AuthorizationFailed, as without the role. */
    public AzureMonitorContractServer deny(String resourceOrWorkspaceId) {
        denied.add(resourceOrWorkspaceId.toLowerCase(Locale.ROOT));
        return this;
    }

    public List<Received> requests() {
        return Collections.unmodifiableList(received);
    }

    /** Requests the real service would reject, and answers that left the contract. Tests assert this stays empty. */
    public List<String> violations() {
        return Collections.unmodifiableList(violations);
    }

    private void exchange(HttpExchange exchange) throws IOException {
        try (exchange) {
            URI uri = exchange.getRequestURI();
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            Map<String, String> query = parseQuery(uri.getRawQuery());
            Received request = new Received(exchange.getRequestMethod(), uri.getRawPath(), query,
                    Map.copyOf(exchange.getRequestHeaders()), body);
            received.add(request);
            Answer answer;
            try {
                answer = answer(request);
            } catch (RuntimeException | Error e) {
                // a failing server must fail the test loudly, not hang up on the client
                violations.add("server failed on " + request.method() + " " + request.path() + ": " + e);
                answer = error(500, "InternalServerError", String.valueOf(e));
            }
            byte[] out = answer.body().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json; charset=utf-8");
            exchange.getResponseHeaders().add("x-ms-request-id", java.util.UUID.randomUUID().toString());
            exchange.sendResponseHeaders(answer.status(), out.length == 0 ? -1 : out.length);
            if (out.length > 0) {
                exchange.getResponseBody().write(out);
            }
        }
    }

    private record Answer(int status, String body) {
    }

    private Answer answer(Received request) {
        String auth = header(request, "Authorization");
        if (auth == null || !auth.startsWith("Bearer ") || auth.length() <= "Bearer ".length()) {
            return error(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.");
        }
        Matcher metrics = METRICS_PATH.matcher(request.path());
        Matcher logs = QUERY_PATH.matcher(request.path());
        if (metrics.matches() && request.method().equals("GET")) {
            String resource = metrics.group(1);
            // the validator matches one segment per path parameter: the resource URI goes in as one, encoded
            String asOneSegment = "/" + URLEncoder.encode(resource.substring(1), StandardCharsets.UTF_8)
                    + "/providers/Microsoft.Insights/metrics";
            List<String> problems = check(Contracts.METRICS, request, asOneSegment);
            if (!"2023-10-01".equals(request.query().get("api-version"))) {
                problems.add("api-version '" + request.query().get("api-version") + "' is not " + METRICS_API_VERSION
                        + " (the description this server holds)");
            }
            if (!problems.isEmpty()) {
                return refuse(request, problems);
            }
            if (denied.contains(resource.toLowerCase(Locale.ROOT))) {
                return forbidden(resource);
            }
            return checked(Contracts.METRICS, asOneSegment, Request.Method.GET, metrics(resource, request.query()));
        }
        if (logs.matches() && request.method().equals("POST")) {
            List<String> problems = check(Contracts.LOGS, request, logs.group(1));
            if (!problems.isEmpty()) {
                return refuse(request, problems);
            }
            Function<String, LogTable> workspace = workspaces.get(URLDecoder.decode(logs.group(2), StandardCharsets.UTF_8)
                    .toLowerCase(Locale.ROOT));
            if (denied.contains(URLDecoder.decode(logs.group(2), StandardCharsets.UTF_8).toLowerCase(Locale.ROOT))) {
                return forbidden(logs.group(2));
            }
            if (workspace == null) {
                return error(404, "WorkspaceNotFoundError", "The workspace could not be found");
            }
            JsonNode query = read(request.body());
            LogTable table = workspace.apply(query.path("query").asText());
            // The description types every cell as an object, yet Microsoft's own example (and the service) answers
            // strings, numbers and nulls: the shape is checked with the rows left out, the cells as the example has them.
            checked(Contracts.LOGS, logs.group(1), Request.Method.POST,
                    new Answer(200, results(new LogTable(table.columns(), List.of()))));
            return new Answer(200, results(table));
        }
        return refuse(request, List.of("no operation " + request.method() + " " + request.path()
                + " in the Metrics API 2023-10-01 or the Log Analytics query API v1"));
    }

    private Answer metrics(String resource, Map<String, String> q) {
        String[] span = q.getOrDefault("timespan", "").split("/");
        if (span.length != 2) {
            return error(400, "BadRequest", "timespan must be 'start/end' in this server");
        }
        Instant from = Instant.parse(span[0]);
        Instant to = Instant.parse(span[1]);
        Duration grain = Duration.parse(q.getOrDefault("interval", "PT1M"));
        String aggregation = q.getOrDefault("aggregation", "average").toLowerCase(Locale.ROOT);
        if (!aggregation.equals("total")) {
            return error(400, "BadRequest", "this server answers aggregation=Total only (the token metrics' aggregation)");
        }
        String dimension = null;
        if (q.containsKey("$filter")) {
            Matcher m = SPLIT_FILTER.matcher(q.get("$filter"));
            if (!m.matches()) {
                return error(400, "BadRequest", "this server understands a split '$filter=Dim eq '*'' only");
            }
            dimension = m.group(1);
        }
        int top = Integer.parseInt(q.getOrDefault("top", "10"));
        ObjectNode body = MAPPER.createObjectNode();
        body.put("cost", 0).put("timespan", from + "/" + to).put("interval", grain.toString())
                .put("namespace", "Microsoft.CognitiveServices/accounts").put("resourceregion", "swedencentral");
        ArrayNode value = body.putArray("value");
        for (String metric : q.getOrDefault("metricnames", "").split(",")) {
            ObjectNode m = value.addObject();
            m.put("id", resource + "/providers/Microsoft.Insights/metrics/" + metric).put("type", "Microsoft.Insights/metrics");
            m.putObject("name").put("value", metric).put("localizedValue", metric);
            m.put("displayDescription", "").put("errorCode", "Success").put("unit", "Count");
            Map<String, Map<Instant, Long>> series = new LinkedHashMap<>();
            for (Point p : points) {
                if (p.resource().equals(resource.toLowerCase(Locale.ROOT)) && p.metric().equals(metric)
                        && !p.time().isBefore(from) && p.time().isBefore(to)) {
                    Instant slot = from.plus(grain.multipliedBy(Duration.between(from, p.time()).toMillis() / grain.toMillis()));
                    series.computeIfAbsent(dimension == null ? "" : p.dimensionValue(), k -> new LinkedHashMap<>())
                            .merge(slot, p.total(), Long::sum);
                }
            }
            // the documented default order is descending by the aggregated value; top cuts the rest
            List<Map.Entry<String, Map<Instant, Long>>> ordered = new ArrayList<>(series.entrySet());
            ordered.sort(Comparator.comparingLong((Map.Entry<String, Map<Instant, Long>> e) ->
                    e.getValue().values().stream().mapToLong(Long::longValue).sum()).reversed());
            ArrayNode timeseries = m.putArray("timeseries");
            for (var e : dimension == null ? ordered : ordered.subList(0, Math.min(top, ordered.size()))) {
                ObjectNode ts = timeseries.addObject();
                ArrayNode meta = ts.putArray("metadatavalues");
                if (dimension != null) {
                    ObjectNode mv = meta.addObject();
                    mv.putObject("name").put("value", dimension.toLowerCase(Locale.ROOT))
                            .put("localizedValue", dimension.toLowerCase(Locale.ROOT));
                    mv.put("value", e.getKey());
                }
                ArrayNode data = ts.putArray("data");
                for (Instant t = from; t.isBefore(to); t = t.plus(grain)) {
                    data.addObject().put("timeStamp", t.truncatedTo(ChronoUnit.SECONDS).toString())
                            .put("total", (double) e.getValue().getOrDefault(t, 0L));
                }
            }
        }
        return new Answer(200, body.toString());
    }

    private static String results(LogTable table) {
        ObjectNode body = MAPPER.createObjectNode();
        ObjectNode t = body.putArray("tables").addObject();
        t.put("name", "PrimaryResult");
        ArrayNode columns = t.putArray("columns");
        table.columns().forEach(c -> columns.addObject().put("name", c.name()).put("type", c.type()));
        ArrayNode rows = t.putArray("rows");
        for (List<Object> row : table.rows()) {
            rows.add(MAPPER.valueToTree(row));
        }
        return body.toString();
    }

    private List<String> check(OpenApiInteractionValidator validator, Received request, String path) {
        SimpleRequest.Builder builder = new SimpleRequest.Builder(Request.Method.valueOf(request.method()), path);
        request.headers().forEach(builder::withHeader);
        request.query().forEach(builder::withQueryParam);
        if (!request.body().isEmpty()) {
            builder.withBody(request.body());
        }
        List<String> problems = new ArrayList<>();
        validator.validateRequest(builder.build()).getMessages().stream()
                .filter(m -> m.getLevel() == ValidationReport.Level.ERROR)
                .forEach(m -> problems.add(m.getKey() + ": " + m.getMessage()));
        return problems;
    }

    /** The server's own answer against the description: a test fed a shape Azure never sends proves nothing. */
    private Answer checked(OpenApiInteractionValidator validator, String path, Request.Method method, Answer answer) {
        ValidationReport report = validator.validateResponse(path, method, SimpleResponse.Builder.status(answer.status())
                .withContentType("application/json").withBody(answer.body()).build());
        report.getMessages().stream().filter(m -> m.getLevel() == ValidationReport.Level.ERROR)
                .forEach(m -> violations.add("answer to " + method + " " + path + ": " + m.getKey() + ": " + m.getMessage()));
        return answer;
    }

    private Answer refuse(Received request, List<String> problems) {
        String message = request.method() + " " + request.path() + ": " + String.join("; ", problems);
        violations.add(message);
        return error(400, "BadRequest", message);
    }

    private static Answer forbidden(String scope) {
        return error(403, "AuthorizationFailed", "The client does not have authorization to perform this action over scope '"
                + scope + "'");
    }

    private static Answer error(int status, String code, String message) {
        ObjectNode body = MAPPER.createObjectNode();
        body.putObject("error").put("code", code).put("message", message);
        return new Answer(status, body.toString());
    }

    private static String header(Received request, String name) {
        for (var e : request.headers().entrySet()) {
            if (e.getKey().equalsIgnoreCase(name)) {
                return e.getValue().isEmpty() ? null : e.getValue().get(0);
            }
        }
        return null;
    }

    private static Map<String, String> parseQuery(String raw) {
        Map<String, String> q = new LinkedHashMap<>();
        if (raw != null && !raw.isEmpty()) {
            for (String pair : raw.split("&")) {
                int eq = pair.indexOf('=');
                q.put(URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8),
                        eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        return q;
    }

    private static JsonNode read(String body) {
        try {
            return MAPPER.readTree(body);
        } catch (IOException e) {
            return MAPPER.missingNode();
        }
    }

    @Override
    public void close() {
        http.close();
    }
}
