package dev.tokenmeter.cli.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenmeter.bridge.mapping.MappingMode;
import dev.tokenmeter.cli.openmeter.MeterDefinitions;
import dev.tokenmeter.cli.openmeter.OpenMeterClient;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What was billed: OpenMeter's meters of prompt and completion tokens per hour, grouped by deployment and, with the
 * request mapping, by {@code usage_source} (which says whether a count is exact or the gateway's estimate).
 */
final class BilledUsage {

    private static final Set<String> EXACT = Set.of("reported", "joined");
    private static final Set<String> ESTIMATED = Set.of("estimated", "late_correction");

    private final OpenMeterClient client;
    private final MappingMode mode;
    private final String prefix;

    BilledUsage(OpenMeterClient client, MappingMode mode, String prefix) {
        this.client = client;
        this.mode = mode;
        this.prefix = prefix;
    }

    boolean split() {
        return mode == MappingMode.REQUEST;
    }

    Map<Slot, Billed> read(Instant from, Instant to) {
        Map<Slot, Billed> out = new HashMap<>();
        if (mode == MappingMode.PER_TOKEN_TYPE) {
            // the token types partition prompt plus completion, so their sum is what Azure counts
            for (JsonNode row : query("tokens", from, to, List.of("deployment"))) {
                out.merge(slot(row), new Billed(value(row), null, null), Billed::plus);
            }
            return out;
        }
        for (String field : List.of("prompt_tokens", "completion_tokens")) {
            for (JsonNode row : query(field, from, to, List.of("deployment", "usage_source"))) {
                String source = row.path("groupBy").path("usage_source").asText("");
                long v = value(row);
                // "none" (errors) carries no tokens; an unknown source counts in the total only
                out.merge(slot(row), new Billed(v, EXACT.contains(source) ? v : 0, ESTIMATED.contains(source) ? v : 0),
                        Billed::plus);
            }
        }
        return out;
    }

    private List<JsonNode> query(String field, Instant from, Instant to, List<String> groupBy) {
        List<Map.Entry<String, String>> q = new ArrayList<>(List.of(Map.entry("from", from.toString()),
                Map.entry("to", to.toString()), Map.entry("windowSize", "HOUR"), Map.entry("windowTimeZone", "UTC")));
        groupBy.forEach(g -> q.add(Map.entry("groupBy", g)));
        List<JsonNode> rows = new ArrayList<>();
        client.get("/api/v1/meters/" + MeterDefinitions.slugFor(prefix, field) + "/query", q).path("data").forEach(rows::add);
        return rows;
    }

    private static Slot slot(JsonNode row) {
        JsonNode d = row.path("groupBy").path("deployment");
        return Slot.of(Instant.parse(row.path("windowStart").asText()), d.isNull() || d.isMissingNode() ? null : d.asText());
    }

    private static long value(JsonNode row) {
        return Math.round(row.path("value").asDouble());
    }
}
