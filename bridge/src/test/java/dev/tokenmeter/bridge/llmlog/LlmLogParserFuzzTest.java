package dev.tokenmeter.bridge.llmlog;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The parser never throws and always answers: random bytes, every truncation of real-shaped messages, and
 * single-byte mutations of them. Seeded, so a failure reproduces.
 */
class LlmLogParserFuzzTest {

    private static final List<String> FIXTURES = List.of("envelope-streamed-chat.json",
            "envelope-correlation-in-properties.json", "bare-array.json", "single-record.json", "mixed-categories.json",
            "invalid-fields.json", "loganalytics-export.jsonl");

    private final LlmLogParser parser = new LlmLogParser();

    @Test
    void randomBytesAreAnsweredNeverThrown() {
        Random random = new Random(20261127);
        for (int i = 0; i < 20_000; i++) {
            byte[] bytes = new byte[random.nextInt(64)];
            random.nextBytes(bytes);
            assertThat(parser.parse(bytes)).isNotNull();
        }
    }

    @Test
    void everyTruncationOfARealShapedMessageIsUnparseableOrRecords() {
        for (String name : FIXTURES) {
            byte[] whole = LlmLogParserTest.fixture(name);
            for (int length = 0; length < whole.length; length++) {
                byte[] cut = java.util.Arrays.copyOf(whole, length);
                assertThat(parser.parse(cut)).as(name + " cut at " + length).isNotNull();
            }
        }
    }

    @Test
    void mutatedMessagesAreAnsweredNeverThrown() {
        Random random = new Random(4711);
        List<byte[]> seeds = new ArrayList<>();
        for (String name : FIXTURES) {
            seeds.add(LlmLogParserTest.fixture(name));
        }
        byte[] interesting = "{}[]\",:-0123456789.eE+truefalsnul \\\u00ff".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        for (int i = 0; i < 20_000; i++) {
            byte[] bytes = seeds.get(random.nextInt(seeds.size())).clone();
            for (int m = 1 + random.nextInt(3); m > 0; m--) {
                bytes[random.nextInt(bytes.length)] = interesting[random.nextInt(interesting.length)];
            }
            assertThat(parser.parse(bytes)).isNotNull();
        }
    }
}
