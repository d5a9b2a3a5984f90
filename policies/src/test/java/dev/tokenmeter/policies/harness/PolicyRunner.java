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

import java.nio.charset.StandardCharsets;
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
final class PolicyRunner {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Policies with no effect on what the harness observes: authentication to and routing of the backend. */
    private static final Set<String> NO_OBSERVABLE_EFFECT = Set.of("authentication-managed-identity", "set-backend-service", "forward-request");

    private final PolicySet set;
    private final String policyFile;
    private final ExpressionHost host;

    PolicyRunner(PolicySet set, String policyFile, ExpressionHost host) {
        this.set = set;
        this.policyFile = policyFile;
        this.host = host;
    }

    /** A return-response: the pipeline stops and this goes to the client. */
    private static final class Returned extends RuntimeException {
        final int status;
        final Map<String, List<String>> headers;

        Returned(int status, Map<String, List<String>> headers) {
            super(null, null, false, false);
            this.status = status;
            this.headers = headers;
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
                default -> {
                    if (!NO_OBSERVABLE_EFFECT.contains(name)) {
                        throw new AssertionError("the harness does not model <" + name + "> (line "
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
            Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            for (Element child : children(e)) {
                switch (child.getTagName()) {
                    case "set-status" -> status = Integer.parseInt(text(evaluate(child.getAttribute("code"))));
                    case "set-header" -> {
                        List<String> values = new ArrayList<>();
                        children(child).forEach(v -> values.add(text(evaluate(v.getTextContent()))));
                        headers.put(child.getAttribute("name"), values);
                    }
                    case "set-body" -> { } // the body of a rejection carries no usage; not modelled further
                    default -> throw new AssertionError("return-response cannot hold <" + child.getTagName() + ">");
                }
            }
            throw new Returned(status, headers);
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
            setIntVariable(e.getAttribute("tokens-consumed-variable-name"), scenario.estimatedTokens());
            setIntVariable(e.getAttribute("remaining-tokens-variable-name"), remaining);
            if (!e.getAttribute("remaining-tokens-header-name").isEmpty()) {
                limitHeaders.put(e.getAttribute("remaining-tokens-header-name"), List.of(Integer.toString(remaining)));
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
                case "Gateway ID" -> ScenarioContext.GATEWAY;
                default -> throw new AssertionError("dimension '" + name + "' has no value and is not one APIM predefines");
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

    Outcome run(Scenario scenario) {
        Function<String, String> values = name -> scenario.namedValues().containsKey(name) ? scenario.namedValues().get(name)
                : set.manifest().namedValue(name).map(PolicySetManifest.NamedValueDecl::defaultValue).orElse(null);
        Document doc;
        try {
            doc = LineNumberedXml.parse(MaskedSource.substituteNamedValues(set.effectiveMasked(policyFile), values));
        } catch (LineNumberedXml.XmlSyntaxError e) {
            throw new AssertionError("effective policy does not parse: " + e.getMessage(), e);
        }
        host.require((ObjectNode) host.command("reset").set("ctx", ScenarioContext.toJson(scenario)));
        Run run = new Run(scenario);
        Element policies = doc.getDocumentElement();
        boolean reachedBackend = false;
        String forwarded = null;
        Integer status = null;
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
            responseHeaders.putArray("Content-Type").add(response.contentType());
            run.limitHeaders.forEach((k, v) -> responseHeaders.set(k, JSON.valueToTree(v)));
            host.require((ObjectNode) host.command("response").put("status", response.status()).put("reason", "")
                    .put("body", response.body()).set("headers", responseHeaders));
            section(run, policies, "outbound");
        } catch (Returned returned) {
            status = returned.status;
            headers.putAll(returned.headers);
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
            } catch (PolicyError inOnError) {
                run.errors.add("on-error: " + inOnError.getMessage());
            }
        }
        JsonNode state = host.require(host.command("state")).path("value");
        if (status == null) {
            status = state.path("responseStatus").asInt();
            state.path("responseHeaders").fields().forEachRemaining(f -> {
                List<String> v = new ArrayList<>();
                f.getValue().forEach(x -> v.add(x.asText()));
                headers.put(f.getKey(), v);
            });
        }
        return new Outcome(status, headers, reachedBackend, forwarded, state.path("responseBodyReads").asInt(),
                List.copyOf(run.messages), List.copyOf(run.metrics), List.copyOf(run.counterKeys), List.copyOf(run.errors));
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
