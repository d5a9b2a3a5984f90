package dev.tokenmeter.usage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The streaming fast path must accept exactly what the JSON Schema of the record's version (plus the two subset
 * rules and "the timestamp is a real instant") accepts. Every valid sample, as v1 and as v2, is mutated field by
 * field in the ways records go wrong, and both judges must agree on each one.
 */
class FastPathAgreesWithSchemaTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final JsonSchema v1 = UsageRecordParser.schemaFor(1);
    private final JsonSchema v2 = UsageRecordParser.schemaFor(2);

    private boolean schemaAccepts(ObjectNode node) {
        JsonSchema schema = node.path("schema_version").isIntegralNumber() && node.get("schema_version").asLong() == 2 ? v2 : v1;
        if (!schema.validate(node).isEmpty()) {
            return false;
        }
        if (StreamingRecordReader.instantOrNull(node.get("timestamp").asText()) == null) {
            return false;
        }
        long cached = node.path("cached_tokens").asLong(0);
        long reasoning = node.path("reasoning_tokens").asLong(0);
        return cached <= node.get("prompt_tokens").asLong() && reasoning <= node.get("completion_tokens").asLong();
    }

    private static boolean fastAccepts(byte[] bytes) {
        try {
            StreamingRecordReader.read(bytes);
            return true;
        } catch (StreamingRecordReader.NotValid e) {
            return false;
        }
    }

    @Test
    void bothJudgesAgreeOnEveryMutationOfEverySample() throws Exception {
        List<String> lines = Files.readAllLines(UsageRecordParserTest.SAMPLES.resolve("valid/2026-11-27-contoso-apim.jsonl"));
        List<JsonNode> replacements = List.of(
                JSON.nullNode(), JSON.valueToTree(""), JSON.valueToTree("x"), JSON.valueToTree("y".repeat(300)),
                JSON.valueToTree(0), JSON.valueToTree(1), JSON.valueToTree(-1), JSON.valueToTree(99),
                JSON.valueToTree(600), JSON.valueToTree(3_000_000_000L), JSON.valueToTree(1.5), JSON.valueToTree(true),
                JSON.createObjectNode(), JSON.createArrayNode(), JSON.valueToTree("2026-11-27T08:01:12Z"),
                JSON.valueToTree("2026-11-27T08:01:12+02:00"), JSON.valueToTree("yesterday"), JSON.valueToTree("1.2.3"),
                JSON.valueToTree("chat"), JSON.valueToTree("token_claim"), JSON.valueToTree("a b"),
                JSON.valueToTree("estimated"), JSON.valueToTree(2), JSON.valueToTree("client"),
                JSON.valueToTree("injected"), JSON.valueToTree(false),
                // timestamps the contract refuses, and ones a lax reader would take
                JSON.valueToTree("2026-11-27 08:01:12Z"), JSON.valueToTree("2026-11-27T08:01Z"),
                JSON.valueToTree("+10000-01-01T00:00:00Z"), JSON.valueToTree("2026-11-27t08:01:12.5z"),
                JSON.valueToTree("2026-02-30T08:01:12Z"), JSON.valueToTree("2026-11-27T23:59:60Z"),
                JSON.valueToTree("2026-11-27T08:01:12.1234567890Z"), JSON.valueToTree("2026-11-27T08:01:12+00:00"),
                JSON.valueToTree("2026-11-27T08:01:12-00:00"), JSON.valueToTree("2026-11-27T24:00:00Z"));
        int cases = 0;
        List<String> disagreements = new ArrayList<>();
        List<ObjectNode> originals = new ArrayList<>();
        for (String line : lines) {
            ObjectNode asV1 = (ObjectNode) JSON.readTree(line);
            originals.add(asV1);
            ObjectNode asV2 = asV1.deepCopy();
            asV2.put("schema_version", 2);
            asV2.put("exact_expected", asV1.get("stream").asBoolean());
            asV2.put("include_usage", asV1.get("stream").asBoolean() ? "injected" : null);
            asV2.putNull("backend_request_id");
            originals.add(asV2);
        }
        for (ObjectNode original : originals) {
            List<ObjectNode> variants = new ArrayList<>();
            variants.add(original.deepCopy());
            original.fieldNames().forEachRemaining(field -> {
                ObjectNode removed = original.deepCopy();
                removed.remove(field);
                variants.add(removed);
                for (JsonNode replacement : replacements) {
                    ObjectNode changed = original.deepCopy();
                    changed.set(field, replacement);
                    variants.add(changed);
                }
            });
            ObjectNode extra = original.deepCopy();
            extra.put("user_email", "someone@example.com");
            variants.add(extra);
            for (ObjectNode variant : variants) {
                cases++;
                byte[] bytes = JSON.writeValueAsBytes(variant);
                if (fastAccepts(bytes) != schemaAccepts(variant)) {
                    disagreements.add((schemaAccepts(variant) ? "schema accepts, fast path refuses: " : "fast path accepts, schema refuses: ") + variant);
                }
            }
        }
        assertThat(cases).isGreaterThan(10000);
        assertThat(disagreements).isEmpty();
    }
}
