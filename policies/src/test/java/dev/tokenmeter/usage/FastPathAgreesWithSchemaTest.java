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
 * The streaming fast path must accept exactly what the JSON Schema (plus the two subset rules) accepts. Every
 * valid sample is mutated field by field in the ways records go wrong, and both judges must agree on each one.
 */
class FastPathAgreesWithSchemaTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final JsonSchema schema = UsageRecordParser.loadSchema();

    private boolean schemaAccepts(ObjectNode node) {
        if (!schema.validate(node).isEmpty()) {
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
                JSON.valueToTree("estimated"));
        int cases = 0;
        List<String> disagreements = new ArrayList<>();
        for (String line : lines) {
            ObjectNode original = (ObjectNode) JSON.readTree(line);
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
        assertThat(cases).isGreaterThan(3000);
        assertThat(disagreements).isEmpty();
    }
}
