package dev.tokenmeter.cli.limits;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import dev.tokenmeter.testkit.OpenMeterContractServer.Reply;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** Features, customers and entitlements kept in memory behind the OpenMeter contract server's routes. */
public final class FakeEntitlements {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    final List<ObjectNode> features = new CopyOnWriteArrayList<>();
    final Map<String, ObjectNode> customers = new ConcurrentHashMap<>();
    final List<ObjectNode> entitlements = new CopyOnWriteArrayList<>();

    public FakeEntitlements(OpenMeterContractServer openmeter) {
        openmeter.route("GET", "/api/v1/features", r -> Reply.json(200, MAPPER.valueToTree(features).toString()));
        openmeter.route("POST", "/api/v1/features", r -> {
            ObjectNode f = (ObjectNode) MAPPER.readTree(r.body());
            f.put("id", "01J00000000000000000000F01").put("createdAt", "2026-11-01T00:00:00Z").put("updatedAt", "2026-11-01T00:00:00Z");
            features.add(f);
            return Reply.json(201, f.toString());
        });
        openmeter.route("GET", "/api/v1/customers", r -> page(customers.values().stream()
                .filter(c -> c.path("key").asText("").contains(query(r.query(), "key"))).toList()));
        openmeter.route("POST", "/api/v1/customers", r -> {
            ObjectNode c = (ObjectNode) MAPPER.readTree(r.body());
            c.put("id", "01J00000000000000000000C01").put("createdAt", "2026-11-01T00:00:00Z").put("updatedAt", "2026-11-01T00:00:00Z");
            customers.put(c.get("key").asText(), c);
            return Reply.json(201, c.toString());
        });
        openmeter.route("POST", "/api/v2/customers/[^/]+/entitlements", r -> Reply.json(201,
                entitlement(key(r.path(), 4), MAPPER.readTree(r.body())).toString()));
        openmeter.route("PUT", "/api/v2/customers/[^/]+/entitlements/[^/]+/override", r -> {
            entitlements.removeIf(e -> e.get("customerKey").asText().equals(key(r.path(), 4))
                    && e.get("featureKey").asText().equals(key(r.path(), 6)));
            return Reply.json(201, entitlement(key(r.path(), 4), MAPPER.readTree(r.body())).toString());
        });
        openmeter.route("GET", "/api/v2/entitlements", r -> page(entitlements.stream()
                .filter(e -> query(r.query(), "customerKeys").isEmpty() || e.get("customerKey").asText().equals(query(r.query(), "customerKeys")))
                .filter(e -> e.get("featureKey").asText().equals(query(r.query(), "feature"))).toList()));
        openmeter.route("GET", "/api/v2/customers/[^/]+/entitlements/[^/]+/value", r ->
                Reply.json(200, "{\"hasAccess\":false,\"balance\":0,\"usage\":1250000,\"overage\":250000}"));
    }

    private static String query(String query, String name) {
        if (query != null) {
            for (String pair : query.split("&")) {
                String[] kv = pair.split("=", 2);
                if (kv[0].equals(name)) {
                    return URLDecoder.decode(kv[1], StandardCharsets.UTF_8);
                }
            }
        }
        return "";
    }

    private static String key(String path, int segment) {
        return URLDecoder.decode(path.split("/")[segment], StandardCharsets.UTF_8);
    }

    private static Reply page(List<ObjectNode> items) {
        ObjectNode p = MAPPER.createObjectNode().put("totalCount", items.size()).put("page", 1).put("pageSize", 100);
        ArrayNode arr = p.putArray("items");
        items.forEach(arr::add);
        return Reply.json(200, p.toString());
    }

    private ObjectNode entitlement(String customer, JsonNode create) {
        ObjectNode e = ((ObjectNode) create).deepCopy();
        e.put("id", "01J00000000000000000000E0" + entitlements.size()).put("customerKey", customer)
                .put("customerId", "01J00000000000000000000C01").put("createdAt", "2026-11-01T00:00:00Z")
                .put("updatedAt", "2026-11-01T00:00:00Z");
        e.putObject("currentUsagePeriod").put("from", "2026-11-01T00:00:00Z").put("to", "2026-12-01T00:00:00Z");
        entitlements.add(e);
        return e;
    }
}
