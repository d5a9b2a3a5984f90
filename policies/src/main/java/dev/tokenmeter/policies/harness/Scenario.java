package dev.tokenmeter.policies.harness;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One request through the policy set, with everything APIM or the backend would decide that the harness cannot:
 * the outcome of token validation, the backend's response (or failure), the token-limit policy's estimate, and the
 * gateway that handles it (context.Deployment.GatewayId: "managed", or a self-hosted gateway's id).
 */
public record Scenario(
        String name,
        String method,
        String url,
        Map<String, List<String>> headers,
        String body,
        Subscription subscription,
        String apimUserId,
        Token token,
        Backend backend,
        int estimatedTokens,
        Map<String, String> namedValues,
        String gatewayId,
        ConsumedAs consumedAs,
        LimitRejection limitRejection) {

    /**
     * How APIM turns away a request over the token limit. The token-limit references document the 429 and its
     * headers but not whether it is a plain response (like return-response: no outbound, no on-error) or an error
     * that runs on-error (as rate-limit and quota are listed in the error-handling reference); scenarios run with each.
     */
    public enum LimitRejection { RESPONSE, ON_ERROR }

    /**
     * How the token-limit policy stores tokens-consumed-variable-name. Its reference does not say whether the value
     * is an int or a long, so the policies must read either; scenarios run with each.
     */
    public enum ConsumedAs { INT, LONG }

    /** An APIM subscription and the product it belongs to (null product: an all-APIs subscription). */
    public record Subscription(String id, String productId) {
    }

    /** What validate-azure-ad-token concludes about the bearer token the request carries. */
    public sealed interface Token {
        record Valid(Map<String, List<String>> claims) implements Token {
        }

        record Invalid(String reason) implements Token {
        }
    }

    public sealed interface Backend {
        /** @param headers besides Content-Type, which {@code contentType} gives */
        record Responds(int status, String contentType, String body, Map<String, List<String>> headers) implements Backend {
            public Responds {
                headers = Map.copyOf(headers);
            }

            public Responds(int status, String contentType, String body) {
                this(status, contentType, body, Map.of());
            }
        }

        /** The backend could not be reached: APIM runs on-error. */
        record Unreachable(String reason) implements Backend {
        }
    }

    public static Scenario post(String name, String url, String body) {
        return new Scenario(name, "POST", url, Map.of("Content-Type", List.of("application/json")), body,
                null, null, null, new Backend.Responds(200, "application/json", "{}"), 0, Map.of(), ScenarioContext.GATEWAY, ConsumedAs.INT, LimitRejection.RESPONSE);
    }

    public Scenario header(String header, String value) {
        Map<String, List<String>> h = new LinkedHashMap<>(headers);
        h.put(header, List.of(value));
        return new Scenario(name, method, url, Map.copyOf(h), body, subscription, apimUserId, token, backend, estimatedTokens, namedValues, gatewayId, consumedAs, limitRejection);
    }

    public Scenario withBody(String newBody) {
        return new Scenario(name, method, url, headers, newBody, subscription, apimUserId, token, backend, estimatedTokens, namedValues, gatewayId, consumedAs, limitRejection);
    }

    public Scenario subscription(String id, String productId) {
        return new Scenario(name, method, url, headers, body, new Subscription(id, productId), apimUserId, token, backend, estimatedTokens, namedValues, gatewayId, consumedAs, limitRejection);
    }

    public Scenario apimUser(String id) {
        return new Scenario(name, method, url, headers, body, subscription, id, token, backend, estimatedTokens, namedValues, gatewayId, consumedAs, limitRejection);
    }

    /** A bearer token (an unsigned JWT carrying the claims, so AsJwt() works too) and validation's verdict. */
    public Scenario token(Token verdict, String compactJwt) {
        return new Scenario(name, method, url, headers, body, subscription, apimUserId, verdict, backend, estimatedTokens, namedValues, gatewayId, consumedAs, limitRejection)
                .header("Authorization", "Bearer " + compactJwt);
    }

    public Scenario backend(Backend response) {
        return new Scenario(name, method, url, headers, body, subscription, apimUserId, token, response, estimatedTokens, namedValues, gatewayId, consumedAs, limitRejection);
    }

    public Scenario estimatedTokens(int tokens) {
        return new Scenario(name, method, url, headers, body, subscription, apimUserId, token, backend, tokens, namedValues, gatewayId, consumedAs, limitRejection);
    }

    /** The gateway that handles the request: "managed" (the default) or a self-hosted gateway's id. */
    public Scenario gateway(String id) {
        return new Scenario(name, method, url, headers, body, subscription, apimUserId, token, backend, estimatedTokens, namedValues, id, consumedAs, limitRejection);
    }

    public Scenario limitRejection(LimitRejection how) {
        return new Scenario(name, method, url, headers, body, subscription, apimUserId, token, backend, estimatedTokens, namedValues, gatewayId, consumedAs, how);
    }

    public Scenario consumedAs(ConsumedAs type) {
        return new Scenario(name, method, url, headers, body, subscription, apimUserId, token, backend, estimatedTokens, namedValues, gatewayId, type, limitRejection);
    }

    /** The same header sent more than once (APIM's Headers dictionary then holds several values). */
    public Scenario headerValues(String header, List<String> values) {
        Map<String, List<String>> h = new LinkedHashMap<>(headers);
        h.put(header, List.copyOf(values));
        return new Scenario(name, method, url, Map.copyOf(h), body, subscription, apimUserId, token, backend, estimatedTokens, namedValues, gatewayId, consumedAs, limitRejection);
    }

    public Scenario namedValue(String name, String value) {
        Map<String, String> v = new LinkedHashMap<>(namedValues);
        v.put(name, value);
        return new Scenario(this.name, method, url, headers, body, subscription, apimUserId, token, backend, estimatedTokens, Map.copyOf(v), gatewayId, consumedAs, limitRejection);
    }
}
