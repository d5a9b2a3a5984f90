package dev.tokenmeter.cli.limits;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.cli.openmeter.OpenMeterClient;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The OpenMeter calls behind the limits commands: features, customers and metered entitlements. Entitlements are
 * written and read per customer, keyed by the user id (the subject the bridge sends and the id the gateway knows),
 * with the customer-keyed v2 operations (createCustomerEntitlementV2, overrideCustomerEntitlementV2,
 * getCustomerEntitlementValueV2); the subject-keyed v1 ones are deprecated. Customers are found by key through the
 * list endpoint, and allowances are listed through the v2 entitlement list.
 */
final class Entitlements {

    /** A user's allowance as the commands show and compare it. */
    record Limit(String customer, String feature, double tokens, String period, boolean soft, String periodEnd) {
    }

    private final OpenMeterClient client;

    Entitlements(OpenMeterClient client) {
        this.client = client;
    }

    static String segment(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
    }

    Optional<JsonNode> feature(String key) {
        for (JsonNode f : items(client.get("/api/v1/features", List.of()))) {
            if (key.equals(f.path("key").asText())) {
                return Optional.of(f);
            }
        }
        return Optional.empty();
    }

    JsonNode createFeature(String key, String meterSlug) {
        ObjectNode body = JsonNodeFactory.instance.objectNode().put("key", key)
                .put("name", "Tokens (" + meterSlug + ")").put("meterSlug", meterSlug);
        return client.post("/api/v1/features", body);
    }

    /** The customer whose key is the user id; created with the user id as its usage subject when missing. */
    boolean ensureCustomer(String user) {
        // the key filter matches partially and case-insensitively: only an exact key is this user's customer
        for (JsonNode c : items(client.get("/api/v1/customers", List.of(Map.entry("key", user))))) {
            if (user.equals(c.path("key").asText())) {
                return false;
            }
        }
        ObjectNode body = JsonNodeFactory.instance.objectNode().put("name", user).put("key", user);
        body.putObject("usageAttribution").putArray("subjectKeys").add(user);
        client.post("/api/v1/customers", body);
        return true;
    }

    Optional<Limit> limit(String user, String featureKey) {
        return items(client.get("/api/v2/entitlements", List.of(Map.entry("feature", featureKey),
                Map.entry("customerKeys", user)))).stream()
                .filter(e -> "metered".equals(e.path("type").asText()) && e.path("deletedAt").isMissingNode())
                .findFirst().map(e -> toLimit(user, e));
    }

    List<Limit> all(String featureKey) {
        return items(client.get("/api/v2/entitlements", List.of(Map.entry("feature", featureKey))))
                .stream().filter(e -> "metered".equals(e.path("type").asText()))
                .map(e -> toLimit(e.path("customerKey").asText(e.path("customerId").asText()), e)).toList();
    }

    void create(String user, String featureKey, long tokens, String period, boolean soft, boolean replace) {
        // issue.amount: EntitlementMeteredV2CreateInputs marks issueAfterReset deprecated in its favour
        ObjectNode body = JsonNodeFactory.instance.objectNode().put("type", "metered").put("featureKey", featureKey)
                .put("isSoftLimit", soft);
        body.putObject("issue").put("amount", tokens);
        body.putObject("usagePeriod").put("interval", period);
        String entitlements = "/api/v2/customers/" + segment(user) + "/entitlements";
        if (replace) {
            // OpenMeter cannot edit an entitlement: an override replaces it without a gap in enforcement
            client.put(entitlements + "/" + segment(featureKey) + "/override", body);
        } else {
            client.post(entitlements, body);
        }
    }

    JsonNode value(String user, String featureKey) {
        return client.get("/api/v2/customers/" + segment(user) + "/entitlements/" + segment(featureKey) + "/value", List.of());
    }

    private static Limit toLimit(String customer, JsonNode e) {
        double tokens = e.path("issue").has("amount") ? e.path("issue").path("amount").asDouble()
                : e.path("issueAfterReset").asDouble(0);
        return new Limit(customer, e.path("featureKey").asText(), tokens, e.path("usagePeriod").path("interval").asText(),
                e.path("isSoftLimit").asBoolean(false), e.path("currentUsagePeriod").path("to").asText(""));
    }

    private static List<JsonNode> items(JsonNode listOrPage) {
        JsonNode items = listOrPage.isArray() ? listOrPage : listOrPage.path("items");
        List<JsonNode> out = new java.util.ArrayList<>();
        items.forEach(out::add);
        return out;
    }
}
