package dev.tokenmeter.bridge;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenmeter.bridge.join.JoinRowCodec;
import dev.tokenmeter.bridge.join.LlmUsage;
import dev.tokenmeter.bridge.llmlog.LlmLogParser;
import dev.tokenmeter.bridge.llmlog.ParsedMessage;
import dev.tokenmeter.bridge.source.testing.KafkaBroker;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code --mode rekey} as a user runs it: the usage errors, and a file export through the stage into Kafka. */
class RekeyModeTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> FIXTURES = List.of("envelope-streamed-chat.json",
            "envelope-correlation-in-properties.json", "bare-array.json", "single-record.json", "probe-rows.json",
            "stream-without-usage.json", "responses-api.json", "mixed-categories.json", "conflicting-token-rows.json");

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return BridgeMain.run(args, new ByteArrayInputStream(new byte[0]), new PrintStream(out, true),
                new PrintStream(err, true), false);
    }

    private String errors() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void withoutATargetItIsAUsageErrorNamingTheFlags(@TempDir Path dir) {
        int exit = run("--mode", "rekey", "--source", "kafka", "--kafka-bootstrap-servers", "127.0.0.1:9",
                "--kafka-topic", "diagnostic", "--dead-letter-dir", dir.toString(), "--log-format", "text");
        assertThat(exit).isEqualTo(2);
        assertThat(errors()).contains("--rekey-eventhubs-name").contains("--rekey-kafka-topic");
    }

    @Test
    void anUnknownModeIsAUsageError(@TempDir Path dir) {
        assertThat(run("--mode", "replay", "-", "--dead-letter-dir", dir.toString())).isEqualTo(2);
        assertThat(errors()).contains("unknown mode 'replay': use bridge or rekey");
    }

    @Test
    void theKafkaTargetRefusesEventHubsKafkaEndpoint(@TempDir Path dir) {
        int exit = run("--mode", "rekey", "--source", "kafka", "--kafka-auth", "eventhubs-connection-string",
                "--kafka-eventhubs-connection-string", KafkaBroker.CONNECTION_STRING, "--rekey-kafka-topic", "usage",
                "--dead-letter-dir", dir.toString(), "--log-format", "text");
        assertThat(exit).isEqualTo(2);
        assertThat(errors()).contains("cannot publish through Event Hubs' Kafka endpoint")
                .doesNotContain("dGVzdC1rZXktbm90LWEtc2VjcmV0");
    }

    @Test
    void aFileExportGoesThroughTheStageIntoAKafkaTopic(@TempDir Path dir) throws IOException {
        // a file source reads one message per line: the fixtures compacted, the export's lines as they are, one line
        // that is not JSON
        List<String> lines = new ArrayList<>();
        for (String fixture : FIXTURES) {
            lines.add(JSON.readTree(fixture(fixture)).toString());
        }
        lines.addAll(new String(fixture("loganalytics-export.jsonl"), StandardCharsets.UTF_8).lines().toList());
        lines.add("{\"records\": [ truncated");
        Path input = dir.resolve("diagnostic.jsonl");
        Files.write(input, lines);
        List<LlmUsage> expected = new ArrayList<>();
        for (String line : lines) {
            if (new LlmLogParser().parse(line.getBytes(StandardCharsets.UTF_8)) instanceof ParsedMessage.Records r) {
                expected.addAll(r.usages());
            }
        }

        try (KafkaBroker broker = KafkaBroker.start()) {
            broker.createTopic("usage", 2);
            int exit = run("--mode", "rekey", input.toString(), "--rekey-kafka-topic", "usage",
                    "--kafka-bootstrap-servers", broker.bootstrapServers(), "--dead-letter-dir",
                    dir.resolve("dead").toString(), "--log-format", "text");

            assertThat(exit).as(errors()).isZero();
            assertThat(out.toString(StandardCharsets.UTF_8)).contains("messages read: " + lines.size()
                    + "; llm_usage rows sent: " + expected.size() + "; dead letters: 1");
            List<LlmUsage> received = new ArrayList<>();
            for (ConsumerRecord<byte[], byte[]> r : broker.readAll("usage", 2)) {
                if (JoinRowCodec.read(r.value()) instanceof JoinRowCodec.Read.Row row && row.row() instanceof LlmUsage u) {
                    assertThat(new String(r.key(), StandardCharsets.UTF_8)).isEqualTo(u.correlationId());
                    received.add(u);
                }
            }
            assertThat(received).containsExactlyInAnyOrderElementsOf(expected);
        }
    }

    private static byte[] fixture(String name) throws IOException {
        try (InputStream in = RekeyModeTest.class.getResourceAsStream("/llmlog/" + name)) {
            return in.readAllBytes();
        }
    }
}
