package dev.tokenmeter.cli.openmeter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.bridge.mapping.MappingMode;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The meters the bridge's events need, for each event mapping: sums of each token count grouped by model,
 * deployment, API, product, subscription and usage source (the per-token-type shape, OpenMeter's recommended LLM
 * events, carries only model, deployment and token type).
 */
public final class MeterDefinitions {

    /** One meter as OpenMeter's MeterCreate describes it. */
    public record Meter(String slug, String name, String description, String eventType, String valueProperty,
                        Map<String, String> groupBy) {
        ObjectNode toCreate() {
            ObjectNode m = JsonNodeFactory.instance.objectNode();
            m.put("slug", slug).put("name", name).put("description", description).put("aggregation", "SUM")
                    .put("eventType", eventType).put("valueProperty", valueProperty);
            ObjectNode g = m.putObject("groupBy");
            new java.util.TreeMap<>(groupBy).forEach(g::put);
            return m;
        }

        ObjectNode toUpdate() {
            ObjectNode m = JsonNodeFactory.instance.objectNode();
            m.put("name", name).put("description", description);
            ObjectNode g = m.putObject("groupBy");
            new java.util.TreeMap<>(groupBy).forEach(g::put);
            return m;
        }

        /** What OpenMeter cannot change on an existing meter. */
        boolean sameIdentity(JsonNode existing) {
            return eventType.equals(existing.path("eventType").asText()) && "SUM".equals(existing.path("aggregation").asText())
                    && valueProperty.equals(existing.path("valueProperty").asText());
        }

        boolean sameDetails(JsonNode existing) {
            Map<String, String> g = new LinkedHashMap<>();
            existing.path("groupBy").fields().forEachRemaining(e -> g.put(e.getKey(), e.getValue().asText()));
            return g.equals(groupBy) && name.equals(existing.path("name").asText())
                    && description.equals(existing.path("description").asText());
        }
    }

    /**
     * The request mapping's groups: everything the bridge's events carry that a bill is split by. Team chargeback
     * needs API, product and subscription; reconcile needs usage_source (exact or estimated). The user is the
     * event's subject, which OpenMeter groups by without a definition.
     */
    public static final Map<String, String> REQUEST_GROUPS = Map.of("model", "$.model", "deployment", "$.deployment",
            "api", "$.api", "product", "$.product", "subscription", "$.subscription", "usage_source", "$.usage_source");

    /** The token counts of the request mapping, in the order reports show them. */
    public static final List<String> REQUEST_FIELDS = List.of("prompt_tokens", "completion_tokens", "cached_tokens",
            "reasoning_tokens", "total_tokens");

    private MeterDefinitions() {
    }

    public static List<Meter> forMapping(MappingMode mode, String prefix, String eventType) {
        if (mode == MappingMode.PER_TOKEN_TYPE) {
            return List.of(new Meter(prefix + "_tokens", "Tokens by type",
                    "Sum of tokens per token type (input, output, cache_read, reasoning), by model and deployment",
                    eventType, "$.tokens", Map.of("model", "$.model", "deployment", "$.deployment", "type", "$.type")));
        }
        return REQUEST_FIELDS.stream().map(f -> new Meter(prefix + "_" + f, title(f),
                "Sum of " + f + " per request, by model, deployment, API, product, subscription and usage source",
                eventType, "$." + f, REQUEST_GROUPS)).toList();
    }

    public static String slugFor(String prefix, String field) {
        return prefix + "_" + field;
    }

    private static String title(String field) {
        String words = field.replace('_', ' ');
        return Character.toUpperCase(words.charAt(0)) + words.substring(1);
    }
}
