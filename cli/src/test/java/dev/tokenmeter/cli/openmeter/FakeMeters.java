package dev.tokenmeter.cli.openmeter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import dev.tokenmeter.testkit.OpenMeterContractServer.Reply;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** Meters kept in memory behind the OpenMeter contract server's list, create and update endpoints. */
final class FakeMeters {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    final Map<String, ObjectNode> bySlug = new ConcurrentHashMap<>();
    private final AtomicInteger ids = new AtomicInteger();

    FakeMeters(OpenMeterContractServer server) {
        server.route("GET", "/api/v1/meters", r -> {
            ArrayNode all = MAPPER.createArrayNode();
            bySlug.values().forEach(all::add);
            return Reply.json(200, all.toString());
        });
        server.route("POST", "/api/v1/meters", r -> {
            ObjectNode m = (ObjectNode) MAPPER.readTree(r.body());
            if (bySlug.containsKey(m.get("slug").asText())) {
                return Reply.problem(409, "meter exists");
            }
            stamp(m, String.format("01J0000000000000000000%04d", ids.incrementAndGet()));
            bySlug.put(m.get("slug").asText(), m);
            return Reply.json(201, m.toString());
        });
        server.route("PUT", "/api/v1/meters/[^/]+", r -> {
            String id = r.path().substring(r.path().lastIndexOf('/') + 1);
            ObjectNode m = bySlug.values().stream().filter(x -> x.get("id").asText().equals(id)).findFirst().orElseThrow();
            JsonNode update = MAPPER.readTree(r.body());
            m.setAll((ObjectNode) update);
            return Reply.json(200, m.toString());
        });
    }

    void put(ObjectNode meter) {
        stamp(meter, String.format("01J0000000000000000000%04d", ids.incrementAndGet()));
        bySlug.put(meter.get("slug").asText(), meter);
    }

    private static void stamp(ObjectNode m, String id) {
        m.put("id", id).put("createdAt", "2026-11-01T00:00:00Z").put("updatedAt", "2026-11-01T00:00:00Z");
    }
}
