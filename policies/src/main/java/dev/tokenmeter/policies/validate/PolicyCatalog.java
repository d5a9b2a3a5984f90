package dev.tokenmeter.policies.validate;

import java.util.Map;
import java.util.Set;

/**
 * Where each APIM policy may appear: sections (from each policy's reference page, "Policy sections") and scopes.
 * Only policies this catalogue knows are accepted, so a misspelt element name is caught before deployment.
 */
final class PolicyCatalog {

    static final Set<String> SECTIONS = Set.of("inbound", "backend", "outbound", "on-error");
    private static final Set<String> ALL = SECTIONS;
    private static final Set<String> INBOUND = Set.of("inbound");

    /** Elements whose children are policies again (checked in the same section). */
    static final Set<String> CONTAINERS = Set.of("choose", "when", "otherwise", "retry", "wait");

    private static final Map<String, Set<String>> SECTIONS_BY_POLICY = Map.ofEntries(
            Map.entry("include-fragment", ALL),
            Map.entry("choose", ALL),
            Map.entry("retry", ALL),
            Map.entry("wait", ALL),
            Map.entry("set-variable", ALL),
            Map.entry("set-header", ALL),
            Map.entry("set-body", ALL),
            Map.entry("return-response", ALL),
            Map.entry("send-request", ALL),
            Map.entry("send-one-way-request", ALL),
            Map.entry("cache-lookup-value", ALL),
            Map.entry("cache-store-value", ALL),
            Map.entry("cache-remove-value", ALL),
            Map.entry("log-to-eventhub", ALL),
            Map.entry("trace", ALL),
            Map.entry("emit-metric", ALL),
            Map.entry("limit-concurrency", ALL),
            Map.entry("mock-response", Set.of("inbound", "outbound", "on-error")),
            Map.entry("set-status", Set.of("inbound", "outbound", "backend", "on-error")),
            Map.entry("set-method", Set.of("inbound", "on-error")),
            Map.entry("set-query-parameter", Set.of("inbound", "backend")),
            Map.entry("set-backend-service", Set.of("inbound", "backend")),
            Map.entry("rewrite-uri", INBOUND),
            Map.entry("forward-request", Set.of("backend")),
            Map.entry("validate-jwt", INBOUND),
            Map.entry("validate-azure-ad-token", INBOUND),
            Map.entry("check-header", INBOUND),
            Map.entry("ip-filter", INBOUND),
            Map.entry("cors", INBOUND),
            Map.entry("rate-limit", INBOUND),
            Map.entry("rate-limit-by-key", INBOUND),
            Map.entry("quota", INBOUND),
            Map.entry("quota-by-key", INBOUND),
            Map.entry("authentication-managed-identity", INBOUND),
            Map.entry("authentication-basic", INBOUND),
            Map.entry("authentication-certificate", INBOUND),
            Map.entry("azure-openai-token-limit", INBOUND),
            Map.entry("llm-token-limit", INBOUND),
            Map.entry("azure-openai-emit-token-metric", INBOUND),
            Map.entry("llm-emit-token-metric", INBOUND),
            Map.entry("azure-openai-semantic-cache-lookup", INBOUND),
            Map.entry("azure-openai-semantic-cache-store", Set.of("outbound")),
            Map.entry("llm-content-safety", INBOUND),
            Map.entry("validate-content", Set.of("inbound", "outbound", "on-error")),
            Map.entry("validate-headers", Set.of("outbound", "on-error")),
            Map.entry("validate-status-code", Set.of("outbound", "on-error")),
            Map.entry("find-and-replace", ALL),
            Map.entry("json-to-xml", Set.of("inbound", "outbound", "on-error")),
            Map.entry("xml-to-json", Set.of("inbound", "outbound", "on-error")));

    /** Policies APIM refuses at some scopes; everything else works at every scope. */
    private static final Map<String, Set<String>> SCOPES_BY_POLICY = Map.of(
            "cors", Set.of("global", "workspace", "product", "api", "operation"),
            "quota", Set.of("product", "api", "operation"),
            "rate-limit", Set.of("product", "api", "operation"),
            "azure-openai-token-limit", Set.of("global", "workspace", "product", "api", "operation"),
            "llm-token-limit", Set.of("global", "workspace", "product", "api", "operation"));

    private PolicyCatalog() {
    }

    static boolean known(String policy) {
        return SECTIONS_BY_POLICY.containsKey(policy);
    }

    static Set<String> sections(String policy) {
        return SECTIONS_BY_POLICY.getOrDefault(policy, Set.of());
    }

    static boolean allowedAtScope(String policy, String scope) {
        Set<String> scopes = SCOPES_BY_POLICY.get(policy);
        return scopes == null || scope == null || scopes.contains(scope);
    }
}
