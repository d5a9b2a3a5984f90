package dev.tokenmeter.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A local server that plays Azure Resource Manager for the API Management resources the CLI manages: global,
 * product, API and operation policies, policy fragments, named values and loggers, at api-version 2024-05-01.
 *
 * <p>Every request is checked against the REST descriptions and Microsoft's recorded examples in
 * {@code ../shared/reference/apim-rest/2024-05-01/}: the operation (path template and method) must exist, the
 * api-version must be 2024-05-01, a body must only use properties of the shapes the examples send (with the
 * documented required fields and enums), If-Match must be present where the description requires it. A request the
 * real service would reject is answered 400 with an ARM error body and recorded in {@link #violations()}.
 * Stricter than Azure on one point, on purpose: a PUT that replaces an existing entity must carry If-Match, because
 * the CLI promises never to overwrite a change it has not seen.
 *
 * <p>Answers are shaped like the examples (id, type, name, properties; ETag header; secrets and logger connection
 * strings never echoed; fragments and named values answered as long-running operations with an
 * Azure-AsyncOperation status URL). Faults can be injected per request ({@link #inject}).
 *
 * <p>Which services, APIs, products and operations exist: until {@link #withService} declares one, every service and
 * scope exists (writes simply create what they name). Once a service is declared, only declared ones do, and a
 * request below anything else is answered as ARM answers it (the descriptions' default ErrorResponse, with the
 * codes Resource Manager and API Management use): 404 SubscriptionNotFound for an unknown subscription, 404
 * ResourceGroupNotFound for an unknown resource group, 404 ResourceNotFound for a service, API, product or operation
 * that is not there, for reads and writes alike (a write never creates its parent).
 */
public final class ArmContractServer implements AutoCloseable {

    public static final String API_VERSION = "2024-05-01";
    private static final String PROVIDER_PREFIX =
            "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ApiManagement/service/{serviceName}";
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    /** One request as the server saw it. */
    public record Received(String method, String path, Map<String, String> query, Map<String, List<String>> headers,
                           String body) {
        public String header(String name) {
            for (var e : headers.entrySet()) {
                if (e.getKey().equalsIgnoreCase(name)) {
                    return e.getValue().isEmpty() ? null : e.getValue().get(0);
                }
            }
            return null;
        }
    }

    /** A fault answered instead of the real behaviour, {@code times} times, to requests matching method and path. */
    public record Fault(String method, Pattern path, int status, String code, String message,
                        Map<String, String> headers, int times) {
        public static Fault of(String method, String pathRegex, int status, String code, int times) {
            return new Fault(method, Pattern.compile(pathRegex), status, code, "injected " + code, Map.of(), times);
        }

        public Fault withHeader(String name, String value) {
            Map<String, String> h = new LinkedHashMap<>(headers);
            h.put(name, value);
            return new Fault(method, path, status, code, message, Map.copyOf(h), times);
        }
    }

    /** The resource kinds, each with the ARM type of its collection. */
    private enum Kind {
        POLICY, FRAGMENT, NAMED_VALUE, LOGGER
    }

    /** A documented operation: method and path template, plus what the description says about its parameters. */
    private record Operation(String operationId, String method, Pattern path, List<String> pathParams, Kind kind,
                             boolean collection, boolean ifMatchRequired, boolean hasBody, boolean longRunning,
                             String action, JsonNode bodyShape) {
    }

    private record Stored(String id, String type, String name, Kind kind, ObjectNode properties, String etag) {
    }

    private record Reply(int status, Map<String, String> headers, JsonNode body) {
    }

    private final LoopbackHttpServer http;
    private final List<Operation> operations;
    private final Map<String, Stored> resources = new ConcurrentHashMap<>();
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final List<String> violations = new CopyOnWriteArrayList<>();
    private final List<Fault> faults = new CopyOnWriteArrayList<>();
    private final Map<Fault, Integer> faultUses = new ConcurrentHashMap<>();
    private final AtomicLong etags = new AtomicLong(1);
    private volatile String acceptedToken;
    /** Declared service ids and scope paths below them (/apis/X, /products/X, /apis/X/operations/Y), lower case. */
    private final Map<String, Set<String>> services = new ConcurrentHashMap<>();
    private static final Pattern SERVICE_PATH = Pattern.compile(
            "^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\\.ApiManagement/service/([^/]+)(/.*)?$",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern SCOPE_PATH = Pattern.compile("^(/apis/[^/]+|/products/[^/]+)(/operations/[^/]+)?");

    private ArmContractServer() throws IOException {
        operations = loadOperations(SharedReference.resolve("apim-rest/" + API_VERSION));
        // last: requests may arrive as soon as it listens
        http = LoopbackHttpServer.start("arm-contract-server", 0, this::exchange);
    }

    public static ArmContractServer start() {
        try {
            return new ArmContractServer();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public URI baseUri() {
        return http.baseUri();
    }

    /** Only this bearer token is accepted from now on (by default any non-blank bearer token is). */
    public ArmContractServer acceptOnlyToken(String token) {
        this.acceptedToken = token;
        return this;
    }

    /** Answers the next {@code fault.times()} matching requests with the fault instead of the normal behaviour. */
    public ArmContractServer inject(Fault fault) {
        faults.add(fault);
        return this;
    }

    /**
     * Declares that a service exists, with the given scopes below it ({@code /apis/ID}, {@code /products/ID},
     * {@code /apis/ID/operations/ID}); from then on only declared services and scopes exist.
     */
    public ArmContractServer withService(String serviceId, String... scopePaths) {
        Set<String> scopes = services.computeIfAbsent(key(serviceId), k -> ConcurrentHashMap.newKeySet());
        for (String scope : scopePaths) {
            scopes.add(key(scope));
            int operations = scope.indexOf("/operations/");
            if (operations > 0) {
                scopes.add(key(scope.substring(0, operations)));
            }
        }
        return this;
    }

    public List<Received> requests() {
        return Collections.unmodifiableList(received);
    }

    /** Requests the real service would reject (or that overwrite blindly). Tests assert this stays empty. */
    public List<String> violations() {
        return Collections.unmodifiableList(violations);
    }

    /** The stored properties of a resource, by its id (path without query), as the service keeps them. */
    public Optional<ObjectNode> properties(String resourceId) {
        return Optional.ofNullable(resources.get(key(resourceId))).map(s -> s.properties().deepCopy());
    }

    /** Changes a resource behind the CLI's back, as someone editing in the portal would; a new ETag results. */
    public void changeOnServer(String resourceId, ObjectNode properties) {
        Stored old = resources.get(key(resourceId));
        if (old == null) {
            throw new IllegalArgumentException("no resource " + resourceId);
        }
        resources.put(key(resourceId), new Stored(old.id(), old.type(), old.name(), old.kind(), properties.deepCopy(),
                nextEtag()));
    }

    /** The ids of all stored resources. */
    public Set<String> resourceIds() {
        Set<String> ids = new java.util.TreeSet<>();
        resources.values().forEach(s -> ids.add(s.id()));
        return ids;
    }

    // ---------------------------------------------------------------- catalogue from the reference files

    private static List<Operation> loadOperations(Path dir) throws IOException {
        List<Operation> ops = new ArrayList<>();
        Map<String, Kind> files = Map.of(
                "apimpolicies.json", Kind.POLICY,
                "apimpolicyfragments.json", Kind.FRAGMENT,
                "apimnamedvalues.json", Kind.NAMED_VALUE,
                "apimloggers.json", Kind.LOGGER);
        for (var file : files.entrySet()) {
            JsonNode swagger = MAPPER.readTree(dir.resolve(file.getKey()).toFile());
            for (Iterator<Map.Entry<String, JsonNode>> paths = swagger.get("paths").fields(); paths.hasNext(); ) {
                var path = paths.next();
                for (Iterator<Map.Entry<String, JsonNode>> methods = path.getValue().fields(); methods.hasNext(); ) {
                    var m = methods.next();
                    ops.add(operation(dir, path.getKey(), m.getKey().toUpperCase(), m.getValue(), file.getValue()));
                }
            }
        }
        // The product, API and operation policy operations are described in files not in ../shared; they take the
        // same parameters as the global policy operations, under the scope paths Microsoft's examples show.
        List<Operation> scoped = new ArrayList<>();
        for (String example : List.of("ApiManagementGetProductPolicy", "ApiManagementGetApiPolicy",
                "ApiManagementGetApiOperationPolicy")) {
            JsonNode ex = MAPPER.readTree(dir.resolve("examples/" + example + ".json").toFile());
            String template = templateOf(ex.at("/responses/200/body/id").asText(), ex.get("parameters"));
            String scopePrefix = template.substring(0, template.lastIndexOf("/policies/"));
            String createExample = example.replace("Get", "Create");
            JsonNode shape = shapeOf(List.of(MAPPER.readTree(dir.resolve("examples/" + createExample + ".json")
                    .toFile()).at("/parameters/parameters")));
            for (Operation global : ops) {
                if (global.kind() != Kind.POLICY) {
                    continue;
                }
                String globalTemplate = global.path().pattern();
                String scopedRegex = globalTemplate.replace(regexOf(PROVIDER_PREFIX), regexOf(scopePrefix));
                scoped.add(new Operation(global.operationId() + "@" + example, global.method(),
                        Pattern.compile(scopedRegex), paramsOf(scopePrefix + "/policies" + (global.collection() ? "" : "/{policyId}")),
                        Kind.POLICY, global.collection(), global.ifMatchRequired(), global.hasBody(),
                        global.longRunning(), global.action(), global.hasBody() ? shape : null));
            }
        }
        ops.addAll(scoped);
        return List.copyOf(ops);
    }

    private static Operation operation(Path dir, String template, String method, JsonNode op, Kind kind)
            throws IOException {
        boolean ifMatchRequired = false;
        boolean hasBody = false;
        for (JsonNode p : op.path("parameters")) {
            String ref = p.path("$ref").asText("");
            ifMatchRequired |= ref.endsWith("/IfMatchRequiredParameter");
            hasBody |= "body".equals(p.path("in").asText());
        }
        List<JsonNode> bodies = new ArrayList<>();
        for (JsonNode ex : op.path("x-ms-examples")) {
            Path file = dir.resolve(ex.get("$ref").asText());
            if (Files.exists(file)) {
                JsonNode body = MAPPER.readTree(file.toFile()).at("/parameters/parameters");
                if (!body.isMissingNode()) {
                    bodies.add(body);
                }
            }
        }
        String last = template.substring(template.lastIndexOf('/') + 1);
        boolean collection = !last.startsWith("{") && !Set.of("listValue", "refreshSecret", "listReferences").contains(last);
        String action = switch (last) {
            case "listValue", "refreshSecret", "listReferences" -> last;
            default -> collection ? "list" : method.toLowerCase();
        };
        return new Operation(op.get("operationId").asText(), method, Pattern.compile(regexOf(template)),
                paramsOf(template), kind, collection, ifMatchRequired, hasBody,
                op.path("x-ms-long-running-operation").asBoolean(false), action,
                hasBody && !bodies.isEmpty() ? shapeOf(bodies) : null);
    }

    /** Replaces the example's parameter values in a resource id by their names: the path template. */
    private static String templateOf(String id, JsonNode parameters) {
        String[] segments = id.split("/");
        for (int i = 0; i < segments.length; i++) {
            for (Iterator<Map.Entry<String, JsonNode>> it = parameters.fields(); it.hasNext(); ) {
                var p = it.next();
                if (p.getValue().isTextual() && p.getValue().asText().equals(segments[i]) && i > 0
                        && !segments[i - 1].isEmpty()) {
                    segments[i] = "{" + p.getKey() + "}";
                    break;
                }
            }
        }
        return String.join("/", segments);
    }

    private static String regexOf(String template) {
        return template.replaceAll("\\{[^}]+}", "([^/]+)");
    }

    private static List<String> paramsOf(String template) {
        List<String> names = new ArrayList<>();
        Matcher m = Pattern.compile("\\{([^}]+)}").matcher(template);
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    /** The union of the example bodies: for each property, the JSON node type it has there. */
    private static JsonNode shapeOf(List<JsonNode> examples) {
        ObjectNode shape = JSON.objectNode();
        for (JsonNode ex : examples) {
            merge(shape, ex);
        }
        return shape;
    }

    private static void merge(ObjectNode shape, JsonNode example) {
        example.fields().forEachRemaining(f -> {
            JsonNode v = f.getValue();
            if (v.isObject()) {
                JsonNode existing = shape.get(f.getKey());
                ObjectNode child = existing instanceof ObjectNode o ? o : shape.putObject(f.getKey());
                merge(child, v);
            } else {
                shape.put(f.getKey(), v.getNodeType().name());
            }
        });
    }

    // ---------------------------------------------------------------- serving

    private void exchange(HttpExchange exchange) throws IOException {
        try (exchange) {
            URI uri = exchange.getRequestURI();
            Received request = new Received(exchange.getRequestMethod(), uri.getRawPath(), query(uri.getRawQuery()),
                    Map.copyOf(exchange.getRequestHeaders()),
                    new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            received.add(request);
            Reply reply = answer(request);
            reply.headers().forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
            byte[] out = reply.body() == null ? new byte[0] : MAPPER.writeValueAsBytes(reply.body());
            if (out.length > 0) {
                exchange.getResponseHeaders().add("Content-Type", "application/json; charset=utf-8");
            }
            boolean head = request.method().equals("HEAD");
            exchange.sendResponseHeaders(reply.status(), out.length == 0 || head ? -1 : out.length);
            if (out.length > 0 && !head) {
                exchange.getResponseBody().write(out);
            }
        }
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> q = new LinkedHashMap<>();
        if (raw != null) {
            for (String pair : raw.split("&")) {
                int eq = pair.indexOf('=');
                q.put(URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8),
                        eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        return q;
    }

    private Reply answer(Received request) {
        String auth = request.header("Authorization");
        String token = auth != null && auth.startsWith("Bearer ") ? auth.substring(7).trim() : "";
        if (token.isEmpty() || (acceptedToken != null && !acceptedToken.equals(token))) {
            return error(401, "InvalidAuthenticationToken", "The access token is invalid.",
                    Map.of("WWW-Authenticate", "Bearer authorization_uri=\"https://login.microsoftonline.com/common\""));
        }
        Optional<Reply> fault = fault(request);
        if (fault.isPresent()) {
            return fault.get();
        }
        if (request.method().equals("GET") && request.path().contains("/tenant/operationResults/")) {
            return operationStatus(request);
        }
        Operation op = null;
        Matcher matcher = null;
        for (Operation candidate : operations) {
            Matcher m = candidate.path().matcher(request.path());
            if (m.matches() && candidate.method().equals(request.method())) {
                op = candidate;
                matcher = m;
                break;
            }
        }
        if (op == null) {
            return violation(request, "no operation " + request.method() + " " + request.path()
                    + " in the API Management 2024-05-01 descriptions");
        }
        List<String> problems = new ArrayList<>();
        if (!API_VERSION.equals(request.query().get("api-version"))) {
            problems.add("api-version must be " + API_VERSION + ", was " + request.query().get("api-version"));
        }
        Map<String, String> params = new LinkedHashMap<>();
        for (int i = 0; i < op.pathParams().size(); i++) {
            params.put(op.pathParams().get(i), URLDecoder.decode(matcher.group(i + 1), StandardCharsets.UTF_8));
        }
        if (params.containsKey("policyId") && !"policy".equals(params.get("policyId"))) {
            problems.add("policyId must be 'policy'");
        }
        if (op.ifMatchRequired() && request.header("If-Match") == null) {
            problems.add(op.operationId() + " requires If-Match");
        }
        JsonNode body = null;
        if (op.hasBody()) {
            try {
                body = MAPPER.readTree(request.body());
            } catch (IOException e) {
                problems.add("body is not JSON: " + e.getMessage());
            }
            if (body == null || !body.isObject()) {
                problems.add("body must be a JSON object");
            } else {
                String contentType = request.header("Content-Type");
                if (contentType == null || !contentType.startsWith("application/json")) {
                    problems.add("Content-Type must be application/json, was " + contentType);
                }
                checkShape(op.bodyShape(), body, "", problems, op.kind() == Kind.LOGGER);
                checkDocumentedRules(op, body, problems);
            }
        }
        if (!problems.isEmpty()) {
            return violation(request, String.join("; ", problems));
        }
        String resourceId = request.path();
        Optional<Reply> absent = absentParent(resourceId);
        if (absent.isPresent()) {
            return absent.get();
        }
        return switch (op.action()) {
            case "list" -> list(resourceId, op.kind());
            case "get" -> get(resourceId, request);
            case "head" -> head(resourceId);
            case "put" -> put(request, op, resourceId, params, (ObjectNode) body);
            case "delete" -> delete(request, resourceId);
            case "listValue" -> listValue(resourceId.substring(0, resourceId.lastIndexOf('/')));
            default -> error(501, "NotImplemented", op.operationId() + " is not played by this test server", Map.of());
        };
    }

    /** What ARM answers when the subscription, resource group, service or scope of a request does not exist. */
    private Optional<Reply> absentParent(String path) {
        if (services.isEmpty()) {
            return Optional.empty();
        }
        Matcher m = SERVICE_PATH.matcher(path);
        if (!m.matches()) {
            return Optional.empty();
        }
        String subscription = m.group(1);
        String group = m.group(2);
        String service = m.group(3);
        String subscriptionPrefix = key("/subscriptions/" + subscription + "/");
        String groupPrefix = key("/subscriptions/" + subscription + "/resourceGroups/" + group + "/");
        if (services.keySet().stream().noneMatch(id -> id.startsWith(subscriptionPrefix))) {
            return Optional.of(error(404, "SubscriptionNotFound", "The subscription '" + subscription
                    + "' could not be found.", Map.of()));
        }
        if (services.keySet().stream().noneMatch(id -> id.startsWith(groupPrefix))) {
            return Optional.of(error(404, "ResourceGroupNotFound", "Resource group '" + group
                    + "' could not be found.", Map.of()));
        }
        String serviceId = path.substring(0, m.end(3));
        Set<String> scopes = services.get(key(serviceId));
        if (scopes == null) {
            return Optional.of(error(404, "ResourceNotFound", "The Resource 'Microsoft.ApiManagement/service/"
                    + service + "' under resource group '" + group + "' was not found. For more details please go "
                    + "to https://aka.ms/ARMResourceNotFoundFix", Map.of()));
        }
        Matcher scope = SCOPE_PATH.matcher(m.group(4) == null ? "" : m.group(4));
        if (scope.find()) {
            String parent = scope.group(1);
            if (!scopes.contains(key(parent))) {
                return Optional.of(error(404, "ResourceNotFound", (parent.startsWith("/apis/") ? "Api" : "Product")
                        + " not found.", Map.of()));
            }
            if (scope.group(2) != null && !scopes.contains(key(parent + scope.group(2)))) {
                return Optional.of(error(404, "ResourceNotFound", "Operation not found.", Map.of()));
            }
        }
        return Optional.empty();
    }

    private Optional<Reply> fault(Received request) {
        for (Fault f : faults) {
            if (f.method().equals(request.method()) && f.path().matcher(request.path()).find()) {
                int used = faultUses.merge(f, 1, Integer::sum);
                if (used >= f.times()) {
                    faults.remove(f);
                }
                if (used <= f.times()) {
                    return Optional.of(error(f.status(), f.code(), f.message(), f.headers()));
                }
            }
        }
        return Optional.empty();
    }

    /** Properties and types must be those of the examples' bodies; logger credentials are a free string map. */
    private static void checkShape(JsonNode shape, JsonNode body, String where, List<String> problems,
                                   boolean loggerCredentialsFree) {
        if (shape == null) {
            return;
        }
        body.fields().forEachRemaining(f -> {
            String name = where.isEmpty() ? f.getKey() : where + "." + f.getKey();
            JsonNode expected = shape.get(f.getKey());
            if (loggerCredentialsFree && name.equals("properties.credentials")) {
                f.getValue().fields().forEachRemaining(c -> {
                    if (!c.getValue().isTextual()) {
                        problems.add(name + "." + c.getKey() + " must be a string");
                    }
                });
                return;
            }
            if (expected == null && loggerCredentialsFree && Set.of("properties.isBuffered", "properties.resourceId")
                    .contains(name)) {
                return; // documented logger properties that Microsoft's examples happen not to send
            }
            if (expected == null) {
                problems.add("unknown property " + name);
            } else if (expected.isObject()) {
                if (!f.getValue().isObject()) {
                    problems.add(name + " must be an object");
                } else {
                    checkShape(expected, f.getValue(), name, problems, loggerCredentialsFree);
                }
            } else if (!expected.asText().equals(f.getValue().getNodeType().name())) {
                problems.add(name + " must be " + expected.asText().toLowerCase() + ", was "
                        + f.getValue().getNodeType().name().toLowerCase());
            }
        });
    }

    /** Required properties and enums of the contracts (PolicyContract, PolicyFragmentContract, ...). */
    private static void checkDocumentedRules(Operation op, JsonNode body, List<String> problems) {
        JsonNode p = body.path("properties");
        if (!p.isObject()) {
            problems.add("properties is required");
            return;
        }
        switch (op.kind()) {
            case POLICY -> {
                require(p, "value", problems);
                oneOf(p, "format", Set.of("xml", "xml-link", "rawxml", "rawxml-link"), problems);
            }
            case FRAGMENT -> {
                require(p, "value", problems);
                oneOf(p, "format", Set.of("xml", "rawxml"), problems);
                if (p.path("description").asText("").length() > 1000) {
                    problems.add("properties.description is longer than 1000 characters");
                }
            }
            case NAMED_VALUE -> {
                if (op.method().equals("PUT")) {
                    require(p, "displayName", problems);
                    if (!p.has("value") && !p.has("keyVault")) {
                        problems.add("properties.value or properties.keyVault is required");
                    }
                }
                String display = p.path("displayName").asText("x");
                if (!display.matches("^[A-Za-z0-9-._]+$") || display.length() > 256) {
                    problems.add("properties.displayName '" + display + "' must match ^[A-Za-z0-9-._]+$ (max 256)");
                }
                if (p.path("value").asText("").length() > 4096) {
                    problems.add("properties.value is longer than 4096 characters");
                }
            }
            case LOGGER -> {
                if (op.method().equals("PUT")) {
                    require(p, "loggerType", problems);
                }
                oneOf(p, "loggerType", Set.of("azureEventHub", "applicationInsights", "azureMonitor"), problems);
            }
        }
    }

    private static void require(JsonNode p, String field, List<String> problems) {
        if (!p.hasNonNull(field)) {
            problems.add("properties." + field + " is required");
        }
    }

    private static void oneOf(JsonNode p, String field, Set<String> allowed, List<String> problems) {
        if (p.has(field) && !allowed.contains(p.get(field).asText())) {
            problems.add("properties." + field + " must be one of " + new java.util.TreeSet<>(allowed));
        }
    }

    private Reply list(String collectionPath, Kind kind) {
        String prefix = key(collectionPath) + "/";
        var items = JSON.arrayNode();
        new TreeMap<>(resources).forEach((k, s) -> {
            if (k.startsWith(prefix) && k.indexOf('/', prefix.length()) < 0 && s.kind() == kind) {
                items.add(view(s));
            }
        });
        ObjectNode body = JSON.objectNode();
        body.set("value", items);
        body.put("count", items.size());
        body.put("nextLink", "");
        return new Reply(200, Map.of(), body);
    }

    private Reply get(String resourceId, Received request) {
        Stored s = resources.get(key(resourceId));
        if (s == null) {
            return notFound(resourceId);
        }
        ObjectNode view = view(s);
        String format = request.query().get("format");
        if (format != null && s.kind() != Kind.NAMED_VALUE && s.kind() != Kind.LOGGER) {
            ((ObjectNode) view.get("properties")).put("format", format);
        }
        return new Reply(200, Map.of("ETag", s.etag()), view);
    }

    private Reply head(String resourceId) {
        Stored s = resources.get(key(resourceId));
        return s == null ? notFound(resourceId) : new Reply(200, Map.of("ETag", s.etag()), null);
    }

    private Reply put(Received request, Operation op, String resourceId, Map<String, String> params, ObjectNode body) {
        Stored existing = resources.get(key(resourceId));
        String ifMatch = request.header("If-Match");
        if (existing != null && ifMatch == null) {
            return violation(request, "PUT replaces existing " + resourceId + " without If-Match: a blind overwrite");
        }
        if (ifMatch != null && !ifMatch.equals("*") && (existing == null || !ifMatch.equals(existing.etag()))) {
            return error(412, "PreconditionFailed", "Resource was modified since last retrieval. Refresh the "
                    + "resource and retry.", Map.of());
        }
        String name = resourceId.substring(resourceId.lastIndexOf('/') + 1);
        ObjectNode properties = body.get("properties").deepCopy();
        properties.remove("format"); // the service keeps the policy itself, not the format it was sent in
        Stored stored = new Stored(resourceId, typeOf(resourceId), name, op.kind(), properties, nextEtag());
        resources.put(key(resourceId), stored);
        ObjectNode view = view(stored);
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("ETag", stored.etag());
        if (op.longRunning()) {
            // like the examples: accepted in progress, with a status URL to poll and the final resource location
            String opId = Long.toHexString(etags.incrementAndGet());
            String service = resourceId.substring(0, resourceId.indexOf("/", resourceId.indexOf("/service/") + 9));
            ((ObjectNode) view.get("properties")).put("provisioningState", "InProgress");
            headers.put("Azure-AsyncOperation", baseUri() + service + "/tenant/operationResults/" + opId
                    + "?api-version=" + API_VERSION);
            headers.put("Location", baseUri() + resourceId + "?api-version=" + API_VERSION + "&asyncId=" + opId
                    + "&asyncCode=" + (existing == null ? 201 : 200));
        }
        return new Reply(existing == null ? 201 : 200, headers, view);
    }

    private Reply operationStatus(Received request) {
        if (!API_VERSION.equals(request.query().get("api-version"))) {
            return violation(request, "api-version must be " + API_VERSION);
        }
        ObjectNode status = JSON.objectNode();
        status.put("id", request.path());
        status.put("name", request.path().substring(request.path().lastIndexOf('/') + 1));
        status.put("status", "Succeeded");
        return new Reply(200, Map.of(), status);
    }

    private Reply delete(Received request, String resourceId) {
        Stored existing = resources.get(key(resourceId));
        if (existing == null) {
            return new Reply(204, Map.of(), null);
        }
        String ifMatch = request.header("If-Match");
        if (!ifMatch.equals("*") && !ifMatch.equals(existing.etag())) {
            return error(412, "PreconditionFailed", "Resource was modified since last retrieval.", Map.of());
        }
        resources.remove(key(resourceId));
        return new Reply(200, Map.of(), null);
    }

    private Reply listValue(String resourceId) {
        Stored s = resources.get(key(resourceId));
        if (s == null) {
            return notFound(resourceId);
        }
        ObjectNode body = JSON.objectNode();
        body.set("value", s.properties().path("value"));
        return new Reply(200, Map.of(), body);
    }

    /** The resource as the service shows it: secrets and connection strings are never echoed back. */
    private static ObjectNode view(Stored s) {
        ObjectNode node = JSON.objectNode();
        node.put("id", s.id());
        node.put("type", s.type());
        node.put("name", s.name());
        ObjectNode properties = s.properties().deepCopy();
        if (s.kind() == Kind.NAMED_VALUE && properties.path("secret").asBoolean(false)) {
            properties.remove("value");
        }
        if (s.kind() == Kind.LOGGER) {
            if (properties.path("credentials").has("connectionString")) {
                ((ObjectNode) properties.get("credentials")).put("connectionString",
                        "{{Logger-Credentials-" + Integer.toHexString(s.id().hashCode()) + "}}");
            }
            if (!properties.has("isBuffered")) {
                properties.put("isBuffered", true);
            }
        }
        node.set("properties", properties);
        return node;
    }

    private static String typeOf(String resourceId) {
        // Microsoft.ApiManagement/service/apis/operations/policies: the collection names of the id, in order
        String[] segments = resourceId.substring(resourceId.indexOf("/providers/") + 11).split("/");
        StringBuilder type = new StringBuilder(segments[0]);
        for (int i = 1; i < segments.length; i += 2) {
            type.append('/').append(segments[i]);
        }
        return type.toString();
    }

    private Reply notFound(String resourceId) {
        return error(404, "ResourceNotFound", "Entity with specified identifier not found: " + resourceId, Map.of());
    }

    private Reply violation(Received request, String message) {
        violations.add(request.method() + " " + request.path() + ": " + message);
        return error(400, "ValidationError", message, Map.of());
    }

    private static Reply error(int status, String code, String message, Map<String, String> headers) {
        ObjectNode body = JSON.objectNode();
        ObjectNode error = body.putObject("error");
        error.put("code", code);
        error.put("message", message);
        return new Reply(status, headers, body);
    }

    private String nextEtag() {
        return "\"AAAAAAAA" + Long.toHexString(etags.incrementAndGet()) + "=\"";
    }

    private static String key(String resourceId) {
        return resourceId.toLowerCase();
    }

    @Override
    public void close() {
        http.close();
    }
}
