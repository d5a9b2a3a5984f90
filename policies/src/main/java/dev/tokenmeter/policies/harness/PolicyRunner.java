package dev.tokenmeter.policies.harness;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.policies.manifest.PolicySetManifest;
import dev.tokenmeter.policies.set.PolicySet;
import dev.tokenmeter.policies.source.LineNumberedXml;
import dev.tokenmeter.policies.source.MaskedSource;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Function;

/**
 * Runs one policy document for one scenario the way the APIM gateway would: inbound, then the backend (a scenario
 * input), then outbound; on a policy error or an unreachable backend, on-error with context.LastError set. The
 * walk over the XML is here; every expression is evaluated by the compiled C# in {@link ExpressionHost}.
 * Policies the harness does not model fail the scenario instead of being skipped.
 */
public final class PolicyRunner {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Policies with no effect on what the harness observes: authentication to and routing of the backend. */
    private static final Set<String> NO_OBSERVABLE_EFFECT = Set.of("authentication-managed-identity", "set-backend-service", "forward-request");


    private final PolicySet set;
    private final String policyFile;
    private final ExpressionHost host;
    private final Map<String, String> namedValues;
    private final ApimCache cache;
    private final SendRequestTransport transport;

    public PolicyRunner(PolicySet set, String policyFile, ExpressionHost host) {
        this(set, policyFile, host, Map.of(), new ApimCache());
    }

    /**
     * @param namedValues named values for every scenario of this runner (a scenario's own still win), e.g. the
     *                    URL of the test's OpenMeter
     * @param cache       APIM's value cache, kept across the runner's scenarios like the gateway keeps it
     */
    public PolicyRunner(PolicySet set, String policyFile, ExpressionHost host, Map<String, String> namedValues, ApimCache cache) {
        this(set, policyFile, host, namedValues, cache, SendRequestTransport.loopbackHttp());
    }

    /** @param transport where send-request goes: real HTTP on loopback, or a scenario's recorded answers */
    public PolicyRunner(PolicySet set, String policyFile, ExpressionHost host, Map<String, String> namedValues, ApimCache cache,
                        SendRequestTransport transport) {
        this.transport = transport;
        this.set = set;
        this.policyFile = policyFile;
        this.host = host;
        this.namedValues = Map.copyOf(namedValues);
        this.cache = cache;
    }

    /** A return-response: the pipeline stops and this goes to the client. */
    private static final class Returned extends RuntimeException {
        final int status;
        final Map<String, List<String>> headers;
        final String body;

        Returned(int status, Map<String, List<String>> headers, String body) {
            super(null, null, false, false);
            this.status = status;
            this.headers = headers;
            this.body = body;
        }
    }

    /** An error APIM hands to on-error: what becomes context.LastError, and the status the client will get. */
    private static final class PolicyError extends RuntimeException {
        final String source;
        final String reason;
        final int status;

        PolicyError(String source, String reason, String message, int status) {
            super(message, null, false, false);
            this.source = source;
            this.reason = reason;
            this.status = status;
        }
    }

    private final class Run {
        final Scenario scenario;
        final List<Outcome.EventHubMessage> messages = new ArrayList<>();
        final List<Outcome.MetricEmission> metrics = new ArrayList<>();
        final List<String> counterKeys = new ArrayList<>();
        final List<String> errors = new ArrayList<>();
        final List<Sent> sent = new ArrayList<>();
        final Map<String, List<String>> limitHeaders = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        String section;

        Run(Scenario scenario) {
            this.scenario = scenario;
        }

        void runElements(Element parent) {
            for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
                if (n instanceof Element e) {
                    runElement(e);
                }
            }
        }

        void runElement(Element e) {
            String name = e.getTagName();
            switch (name) {
                case "base" -> { } // no parent scopes in the harness: the API scope is the whole pipeline
                case "choose" -> choose(e);
                case "set-variable" -> setVariable(e);
                case "set-header" -> host.require(setHeader(e, section.equals("inbound") ? "request" : "response"));
                case "set-body" -> setBody(e, section.equals("inbound") ? "request" : "response");
                case "return-response" -> returnResponse(e);
                case "validate-azure-ad-token", "validate-jwt" -> validateToken(e);
                case "azure-openai-token-limit", "llm-token-limit" -> tokenLimit(e);
                case "azure-openai-emit-token-metric", "llm-emit-token-metric" -> emitMetric(e);
                case "log-to-eventhub" -> logToEventHub(e);
                case "send-request" -> sendRequest(e);
                case "cache-lookup-value" -> cacheLookup(e);
                case "cache-store-value" -> cacheStore(e);
                default -> {
                    if (!NO_OBSERVABLE_EFFECT.contains(name)) {
                        throw new HarnessException("the harness does not model <" + name + "> (line "
                                + LineNumberedXml.lineOf(e) + " of the effective policy)");
                    }
                }
            }
        }

        void choose(Element choose) {
            for (Element branch : children(choose)) {
                if (branch.getTagName().equals("when")) {
                    JsonNode condition = evaluate(branch.getAttribute("condition"));
                    if (!condition.isBoolean()) {
                        throw new PolicyError("choose", "ExpressionValueEvaluationFailure", "condition is not a bool: " + condition, 500);
                    }
                    if (condition.asBoolean()) {
                        runElements(branch);
                        return;
                    }
                } else if (branch.getTagName().equals("otherwise")) {
                    runElements(branch);
                    return;
                }
            }
        }

        void setVariable(Element e) {
            ObjectNode cmd = host.command("setvar").put("name", e.getAttribute("name"));
            OptionalInt id = MaskedSource.expressionId(e.getAttribute("value"));
            if (id.isPresent()) {
                cmd.put("id", id.getAsInt());
            } else {
                cmd.put("literal", e.getAttribute("value"));
            }
            checked(host.call(cmd), "set-variable " + e.getAttribute("name"));
        }

        ObjectNode setHeader(Element e, String target) {
            var values = JSON.createArrayNode();
            for (Element value : children(e)) {
                values.add(text(evaluate(value.getTextContent())));
            }
            return host.command("setheader").put("target", target).put("name", e.getAttribute("name"))
                    .put("action", e.hasAttribute("exists-action") ? e.getAttribute("exists-action") : "override")
                    .set("values", values);
        }

        void setBody(Element e, String target) {
            ObjectNode cmd = host.command("setbody").put("target", target);
            OptionalInt id = MaskedSource.expressionId(e.getTextContent());
            if (id.isPresent()) {
                cmd.put("id", id.getAsInt());
            } else {
                cmd.put("literal", e.getTextContent());
            }
            checked(host.call(cmd), "set-body");
        }

        void returnResponse(Element e) {
            int status = 200;
            String body = null;
            Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            for (Element child : children(e)) {
                switch (child.getTagName()) {
                    case "set-status" -> status = Integer.parseInt(text(evaluate(child.getAttribute("code"))));
                    case "set-header" -> {
                        List<String> values = new ArrayList<>();
                        children(child).forEach(v -> values.add(text(evaluate(v.getTextContent()))));
                        headers.put(child.getAttribute("name"), values);
                    }
                    case "set-body" -> body = text(evaluate(child.getTextContent()));
                    default -> throw new HarnessException("return-response cannot hold <" + child.getTagName() + ">");
                }
            }
            throw new Returned(status, headers, body);
        }

        /**
         * send-request mode="new", through the runner's transport with the policy's timeout (seconds); with
         * ignore-error="true" a refused connection, a timeout or a broken answer leaves the response variable null
         * (as APIM's send-request reference documents), otherwise it is an error for on-error. Any HTTP status is a
         * response.
         */
        void sendRequest(Element e) {
            String mode = e.hasAttribute("mode") ? e.getAttribute("mode") : "new";
            if (!mode.equals("new")) {
                throw new HarnessException("the harness models send-request mode=\"new\" only, not " + mode);
            }
            String variable = e.getAttribute("response-variable-name");
            long timeoutSeconds = e.hasAttribute("timeout") ? Long.parseLong(text(evaluate(e.getAttribute("timeout")))) : 60;
            boolean ignoreError = Boolean.parseBoolean(e.getAttribute("ignore-error"));
            String url = null;
            String method = null;
            String body = null;
            Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            for (Element child : children(e)) {
                switch (child.getTagName()) {
                    case "set-url" -> url = text(evaluate(child.getTextContent().strip()));
                    case "set-method" -> method = child.getTextContent().strip();
                    case "set-header" -> {
                        List<String> values = new ArrayList<>();
                        children(child).forEach(v -> values.add(text(evaluate(v.getTextContent()))));
                        String action = child.hasAttribute("exists-action") ? child.getAttribute("exists-action") : "override";
                        if (action.equals("delete")) {
                            headers.remove(child.getAttribute("name"));
                        } else if (action.equals("append") && headers.containsKey(child.getAttribute("name"))) {
                            headers.get(child.getAttribute("name")).addAll(values);
                        } else if (!action.equals("skip") || !headers.containsKey(child.getAttribute("name"))) {
                            headers.put(child.getAttribute("name"), values);
                        }
                    }
                    case "set-body" -> body = text(evaluate(child.getTextContent()));
                    default -> throw new HarnessException("the harness does not model <" + child.getTagName() + "> in send-request");
                }
            }
            if (url == null || method == null) {
                throw new HarnessException("send-request mode=new needs set-url and set-method");
            }
            // APIM hands the URL to .NET's Uri before sending: what goes out is what Mono's Uri makes of it
            url = host.require(host.command("resolveurl").put("url", url)).path("value").asText();
            SendRequestTransport.Answer answer = transport.send(method, URI.create(url), headers, body, Duration.ofSeconds(timeoutSeconds));
            // context.Elapsed grows while the gateway waits for the answer
            host.require(host.command("elapse").put("ms", answer.waited().toMillis()));
            ObjectNode result = host.command("sendresult").put("name", variable);
            if (answer instanceof SendRequestTransport.Answer.Response response) {
                ObjectNode responseHeaders = JSON.createObjectNode();
                response.headers().forEach((name, values) -> values.forEach(responseHeaders.withArray(name)::add));
                result.put("status", response.status()).put("reason", "").put("body", response.body()).set("headers", responseHeaders);
                sent.add(new Sent(method, url, response.status(), null));
            } else {
                SendRequestTransport.Answer.Failure failure = (SendRequestTransport.Answer.Failure) answer;
                sent.add(new Sent(method, url, null, failure.reason()));
                if (!ignoreError) {
                    throw new PolicyError("send-request", failure.reason(), "send-request to " + url + " failed: " + failure.detail(), 500);
                }
                result.putNull("status");
            }
            host.require(result);
        }

        void cacheLookup(Element e) {
            String variable = e.getAttribute("variable-name");
            var found = cache.lookup(text(evaluate(e.getAttribute("key"))));
            if (found.isPresent()) {
                storeVariable(variable, found.get());
            } else if (e.hasAttribute("default-value")) {
                storeVariable(variable, evaluate(e.getAttribute("default-value")));
            }
            // no entry and no default: APIM leaves the variable unset
        }

        void cacheStore(Element e) {
            JsonNode value = evaluate(e.getAttribute("value"));
            if (!value.isTextual() && !value.isInt()) {
                throw new HarnessException("the harness caches strings and integers; cache-store-value got " + value);
            }
            long seconds = Long.parseLong(text(evaluate(e.getAttribute("duration"))));
            cache.store(text(evaluate(e.getAttribute("key"))), value, Duration.ofSeconds(seconds));
        }

        void storeVariable(String name, JsonNode value) {
            ObjectNode cmd = host.command("setvar").put("name", name);
            if (value.isInt()) {
                cmd.put("int", value.asInt());
            } else {
                cmd.put("literal", value.asText());
            }
            host.require(cmd);
        }

        void validateToken(Element e) {
            int failStatus = e.hasAttribute("failed-validation-httpcode") ? Integer.parseInt(e.getAttribute("failed-validation-httpcode")) : 401;
            Scenario.Token token = scenario.token();
            if (token instanceof Scenario.Token.Valid valid) {
                if (e.hasAttribute("output-token-variable-name")) {
                    host.require((ObjectNode) host.command("setjwt").put("name", e.getAttribute("output-token-variable-name"))
                            .set("claims", JSON.valueToTree(valid.claims())));
                }
                return;
            }
            String reason = token instanceof Scenario.Token.Invalid invalid ? invalid.reason() : "TokenNotPresent";
            throw new PolicyError(e.getTagName(), reason, e.getAttribute("failed-validation-error-message"), failStatus);
        }

        void tokenLimit(Element e) {
            counterKeys.add(text(evaluate(e.getAttribute("counter-key"))));
            int perMinute = Integer.parseInt(e.getAttribute("tokens-per-minute"));
            int remaining = Math.max(0, perMinute - scenario.estimatedTokens());
            String consumed = e.getAttribute("tokens-consumed-variable-name");
            if (!consumed.isEmpty() && scenario.consumedAs() == Scenario.ConsumedAs.LONG) {
                host.require(host.command("setvar").put("name", consumed).put("long", (long) scenario.estimatedTokens()));
            } else {
                setIntVariable(consumed, scenario.estimatedTokens());
            }
            setIntVariable(e.getAttribute("remaining-tokens-variable-name"), remaining);
            if (!e.getAttribute("remaining-tokens-header-name").isEmpty()) {
                limitHeaders.put(e.getAttribute("remaining-tokens-header-name"), List.of(Integer.toString(remaining)));
            }
            // over the limit: the 429 the token-limit references document, with Retry-After and remaining 0; as a
            // plain response or as an error for on-error, whichever the scenario says (APIM does not document which)
            if (scenario.estimatedTokens() > perMinute) {
                String message = "Token limit is exceeded. Try again in 60 seconds.";
                if (scenario.limitRejection() == Scenario.LimitRejection.ON_ERROR) {
                    throw new PolicyError(e.getTagName(), "TokenLimitExceeded", message, 429);
                }
                Map<String, List<String>> h = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
                String retryHeader = e.hasAttribute("retry-after-header-name") ? e.getAttribute("retry-after-header-name") : "Retry-After";
                h.put(retryHeader, List.of("60"));
                if (!e.getAttribute("remaining-tokens-header-name").isEmpty()) {
                    h.put(e.getAttribute("remaining-tokens-header-name"), List.of("0"));
                }
                throw new Returned(429, h, "{\"statusCode\":429,\"message\":\"" + message + "\"}");
            }
        }

        void setIntVariable(String name, int value) {
            if (!name.isEmpty()) {
                host.require(host.command("setvar").put("name", name).put("int", value));
            }
        }

        void emitMetric(Element e) {
            Map<String, String> dimensions = new LinkedHashMap<>();
            for (Element d : children(e)) {
                String name = d.getAttribute("name");
                dimensions.put(name, d.hasAttribute("value") ? text(evaluate(d.getAttribute("value"))) : defaultDimension(name));
            }
            metrics.add(new Outcome.MetricEmission(e.getTagName(), e.getAttribute("namespace"), dimensions));
        }

        /** The values APIM fills in for its predefined dimension names. */
        String defaultDimension(String name) {
            return switch (name) {
                case "API ID" -> ScenarioContext.API_ID;
                case "Operation ID" -> ScenarioContext.operationId(scenario);
                case "Subscription ID" -> scenario.subscription() == null ? "" : scenario.subscription().id();
                case "Product ID" -> scenario.subscription() == null || scenario.subscription().productId() == null ? "" : scenario.subscription().productId();
                case "User ID" -> scenario.apimUserId() == null ? "" : scenario.apimUserId();
                case "Location" -> ScenarioContext.REGION;
                case "Gateway ID" -> scenario.gatewayId();
                default -> throw new HarnessException("dimension '" + name + "' has no value and is not one APIM predefines");
            };
        }

        void logToEventHub(Element e) {
            String body = text(evaluate(e.getTextContent()));
            String key = e.hasAttribute("partition-key") ? text(evaluate(e.getAttribute("partition-key"))) : null;
            String partition = e.hasAttribute("partition-id") ? text(evaluate(e.getAttribute("partition-id"))) : null;
            messages.add(new Outcome.EventHubMessage(e.getAttribute("logger-id"), key, partition, body));
        }

        /** An attribute or text value: a literal, or the value of the expression it holds. */
        JsonNode evaluate(String value) {
            OptionalInt id = MaskedSource.expressionId(value);
            if (id.isEmpty()) {
                return JSON.getNodeFactory().textNode(value);
            }
            return checked(host.call(host.command("eval").put("id", id.getAsInt())), "expression " + id.getAsInt()).path("value");
        }

        /** An expression that throws is a runtime error in APIM too: on to on-error. */
        JsonNode checked(JsonNode answer, String what) {
            if (!answer.path("ok").asBoolean()) {
                throw new PolicyError("expression", "ExpressionValueEvaluationFailure", what + ": " + answer.path("error").asText(), 500);
            }
            return answer;
        }
    }

    public Outcome run(Scenario scenario) {
        Function<String, String> values = name -> scenario.namedValues().containsKey(name) ? scenario.namedValues().get(name)
                : namedValues.containsKey(name) ? namedValues.get(name)
                : set.manifest().namedValue(name).map(PolicySetManifest.NamedValueDecl::defaultValue).orElse(null);
        Document doc;
        try {
            doc = LineNumberedXml.parse(MaskedSource.substituteNamedValues(set.effectiveMasked(policyFile), values));
        } catch (LineNumberedXml.XmlSyntaxError e) {
            throw new HarnessException("effective policy does not parse: " + e.getMessage(), e);
        }
        host.require((ObjectNode) host.command("reset").set("ctx", ScenarioContext.toJson(scenario)));
        // what the expressions see as context.RequestId.ToString(), asked of the C# side (not derived here)
        String contextRequestId = host.require(host.command("requestid")).path("value").asText();
        Run run = new Run(scenario);
        Element policies = doc.getDocumentElement();
        boolean reachedBackend = false;
        String forwarded = null;
        Integer status = null;
        String returnedBody = null;
        Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        try {
            section(run, policies, "inbound");
            JsonNode state = host.require(host.command("state")).path("value");
            forwarded = state.path("requestBody").isNull() ? null : state.path("requestBody").asText();
            reachedBackend = true;
            if (scenario.backend() instanceof Scenario.Backend.Unreachable down) {
                throw new PolicyError("forward-request", "BackendConnectionFailure", down.reason(), 500);
            }
            Scenario.Backend.Responds response = (Scenario.Backend.Responds) scenario.backend();
            ObjectNode responseHeaders = JSON.createObjectNode();
            response.headers().forEach((name, headerValues) -> responseHeaders.set(name, JSON.valueToTree(headerValues)));
            responseHeaders.putArray("Content-Type").add(response.contentType());
            run.limitHeaders.forEach((k, v) -> responseHeaders.set(k, JSON.valueToTree(v)));
            host.require((ObjectNode) host.command("response").put("status", response.status()).put("reason", "")
                    .put("body", response.body()).set("headers", responseHeaders));
            section(run, policies, "outbound");
        } catch (Returned returned) {
            status = returned.status;
            headers.putAll(returned.headers);
            returnedBody = returned.body;
        } catch (PolicyError error) {
            run.errors.add(error.source + "/" + error.reason + ": " + error.getMessage());
            host.require(host.command("error").put("source", error.source).put("reason", error.reason)
                    .put("message", error.getMessage()).put("section", run.section));
            ObjectNode none = JSON.createObjectNode();
            host.require((ObjectNode) host.command("response").put("status", error.status).put("reason", error.reason)
                    .put("body", "").set("headers", none));
            try {
                section(run, policies, "on-error");
            } catch (Returned returned) {
                status = returned.status;
                headers.putAll(returned.headers);
                returnedBody = returned.body;
            } catch (PolicyError inOnError) {
                run.errors.add("on-error: " + inOnError.getMessage());
            }
        }
        JsonNode state = host.require(host.command("state")).path("value");
        String body = returnedBody;
        if (status == null) {
            status = state.path("responseStatus").asInt();
            body = state.path("responseBody").isNull() ? null : state.path("responseBody").asText();
            state.path("responseHeaders").fields().forEachRemaining(f -> {
                List<String> v = new ArrayList<>();
                f.getValue().forEach(x -> v.add(x.asText()));
                headers.put(f.getKey(), v);
            });
        }
        return new Outcome(status, headers, reachedBackend, forwarded, state.path("responseBodyReads").asInt(),
                List.copyOf(run.messages), List.copyOf(run.metrics), List.copyOf(run.counterKeys), List.copyOf(run.errors),
                body, List.copyOf(run.sent), contextRequestId, reachedBackend && bufferedStream(policies, scenario), variables(state));
    }

    private static Map<String, JsonNode> variables(JsonNode state) {
        Map<String, JsonNode> out = new TreeMap<>();
        state.path("variables").fields().forEachRemaining(f -> out.put(f.getKey(), f.getValue()));
        return java.util.Collections.unmodifiableMap(out);
    }

    /**
     * forward-request buffers the response unless buffer-response="false" (its reference: default true; Microsoft's
     * server-sent events guidance asks for false). A backend section without forward-request inherits the
     * service's, which forwards with the default. Only a streamed answer is affected: a buffered stream reaches
     * the client in one piece at its end.
     */
    private static boolean bufferedStream(Element policies, Scenario scenario) {
        if (!(scenario.backend() instanceof Scenario.Backend.Responds r) || !r.contentType().contains("text/event-stream")) {
            return false;
        }
        for (Element section : children(policies)) {
            if (section.getTagName().equals("backend")) {
                var forwards = section.getElementsByTagName("forward-request");
                for (int i = 0; i < forwards.getLength(); i++) {
                    if (((Element) forwards.item(i)).getAttribute("buffer-response").equals("false")) {
                        return false;
                    }
                }
            }
        }
        return true;
    }

    /** One send-request: the answer's status, or why there was none (Timeout, ConnectionFailure, RequestFailure). */
    public record Sent(String method, String url, Integer status, String failure) {
    }

    private void section(Run run, Element policies, String name) {
        run.section = name;
        for (Element section : children(policies)) {
            if (section.getTagName().equals(name)) {
                run.runElements(section);
            }
        }
    }

    private static List<Element> children(Element parent) {
        List<Element> out = new ArrayList<>();
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e) {
                out.add(e);
            }
        }
        return out;
    }

    private static String text(JsonNode value) {
        return value.isTextual() ? value.asText() : value.isNull() ? null : value.toString();
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static UUID requestId(Scenario scenario) {
        return UUID.nameUUIDFromBytes(utf8(scenario.name()));
    }
}
