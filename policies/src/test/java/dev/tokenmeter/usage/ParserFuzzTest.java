package dev.tokenmeter.usage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random records, as APIM might never write them but a broken producer or a hostile one could: the parser never
 * throws, and whatever it accepts the JSON Schema of its version accepts too (the fast path is never laxer). Seeded,
 * so a failure reproduces; {@code -Dtokenmeter.fuzz.cases} runs more.
 */
class ParserFuzzTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final UsageRecordParser parser = new UsageRecordParser();
    private final JsonSchema v1 = UsageRecordParser.schemaFor(1);
    private final JsonSchema v2 = UsageRecordParser.schemaFor(2);

    private static final String[] TIMESTAMPS = {"2026-11-27T08:01:12Z", "2026-11-27T08:01:12.1Z", "2026-11-27t08:01:12z",
            "2026-11-27 08:01:12Z", "2026-11-27T08:01Z", "+10000-01-01T00:00:00Z", "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z", "2024-02-29T00:00:00Z", "2026-11-27T24:00:00Z", "2026-11-27T23:59:60Z",
            "2026-11-27T08:01:12+00:00", "2026-11-27T08:01:12-00:00", "2026-11-27T08:01:12+01:00",
            "2026-11-27T08:01:12.0000000001Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", ""};
    private static final Object[] VALUES = {null, "", "x", "\u0000", "\uD800", "é", "😀", "a".repeat(257),
            0, -1, 1, 2, 3, 1_000_000_001L, 2_000_000_001L, Long.MAX_VALUE, 1.0, 1e3, true, false,
            "chat", "estimated", "reported", "none", "injected", "client", "1.2.3", "1.2", "managed"};

    @Test
    void theParserNeverThrowsAndNeverAcceptsWhatTheSchemaRefuses() throws Exception {
        int cases = Integer.getInteger("tokenmeter.fuzz.cases", 60_000);
        Random random = new Random(20261202);
        List<ObjectNode> seeds = new ArrayList<>();
        for (String line : Files.readAllLines(UsageRecordParserTest.SAMPLES.resolve("valid/2026-11-27-contoso-apim.jsonl"))) {
            ObjectNode record = (ObjectNode) JSON.readTree(line);
            seeds.add(record);
            ObjectNode asV2 = record.deepCopy();
            asV2.put("schema_version", 2);
            asV2.put("exact_expected", record.get("stream").asBoolean());
            asV2.putNull("include_usage");
            asV2.putNull("backend_request_id");
            seeds.add(asV2);
        }
        int accepted = 0;
        List<String> laxer = new ArrayList<>();
        for (int i = 0; i < cases; i++) {
            ObjectNode record = seeds.get(random.nextInt(seeds.size())).deepCopy();
            List<String> fields = new ArrayList<>();
            record.fieldNames().forEachRemaining(fields::add);
            for (int m = 0, mutations = 1 + random.nextInt(3); m < mutations; m++) {
                String field = fields.get(random.nextInt(fields.size()));
                switch (random.nextInt(5)) {
                    case 0 -> record.put(field, TIMESTAMPS[random.nextInt(TIMESTAMPS.length)]);
                    case 1 -> record.set(field, JSON.valueToTree(VALUES[random.nextInt(VALUES.length)]));
                    case 2 -> record.remove(field);
                    case 3 -> record.set(field, nested(random.nextInt(40)));
                    default -> record.put("timestamp", TIMESTAMPS[random.nextInt(TIMESTAMPS.length)]);
                }
            }
            byte[] bytes = JSON.writeValueAsBytes(record);
            if (random.nextInt(4) == 0) {
                bytes = corrupt(bytes, random);
            }
            ParseResult result = parser.parse(bytes);
            assertThat(result).isNotNull();
            if (result instanceof ParseResult.Valid valid) {
                accepted++;
                JsonNode tree = JSON.readTree(bytes);
                JsonSchema schema = valid.record().schemaVersion() == 2 ? v2 : v1;
                if (!schema.validate(tree).isEmpty()) {
                    laxer.add(new String(bytes, StandardCharsets.UTF_8));
                }
            } else {
                assertThat(((ParseResult.Invalid) result).reason()).isNotBlank();
            }
        }
        assertThat(laxer).as("records the parser accepted and the schema refuses").isEmpty();
        assertThat(accepted).as("some mutations stay valid, so both verdicts are exercised").isGreaterThan(cases / 50);
    }

    private static JsonNode nested(int depth) {
        JsonNode node = JSON.getNodeFactory().textNode("deep");
        for (int d = 0; d < depth; d++) {
            node = d % 2 == 0 ? JSON.createArrayNode().add(node) : JSON.createObjectNode().set("k", node);
        }
        return node;
    }

    /** Byte-level damage: a flipped byte, a cut, a stray byte that is not UTF-8. */
    private static byte[] corrupt(byte[] bytes, Random random) {
        byte[] out = bytes.clone();
        switch (random.nextInt(3)) {
            case 0 -> out[random.nextInt(out.length)] ^= (byte) (1 << random.nextInt(8));
            case 1 -> out = java.util.Arrays.copyOf(out, random.nextInt(out.length));
            default -> out[random.nextInt(out.length)] = (byte) 0xC3;
        }
        return out;
    }
}
