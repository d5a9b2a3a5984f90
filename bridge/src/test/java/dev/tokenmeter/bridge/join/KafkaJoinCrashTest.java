package dev.tokenmeter.bridge.join;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenmeter.bridge.source.testing.BridgeProcess;
import dev.tokenmeter.bridge.source.testing.KafkaBroker;
import dev.tokenmeter.bridge.support.Eventually;
import dev.tokenmeter.bridge.support.Records;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The join end to end on a real Kafka broker: streamed usage records and their LLM log rows produced keyed alike (the
 * request id), so they meet on one partition; the bridge, a child process, is killed with SIGKILL while records wait
 * for rows not yet produced, and restarted. Every streamed request reaches OpenMeter with the LLM log's exact counts,
 * and no event is ever sent with two different bodies.
 */
class KafkaJoinCrashTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int REQUESTS = 3_000;
    private static final Instant T0 = Instant.parse("2026-11-27T08:00:00Z");

    private final Map<String, String> firstCopy = new ConcurrentHashMap<>();
    private final List<String> differing = new CopyOnWriteArrayList<>();

    @Test
    void streamedRecordsGetTheirExactCountsAcrossASigkillInsideTheWindow(@TempDir Path dir) throws Exception {
        try (KafkaBroker broker = KafkaBroker.start(); OpenMeterContractServer openMeter = OpenMeterContractServer.start()) {
            openMeter.route("POST", "/api/v1/events", request -> {
                for (JsonNode event : JSON.readTree(request.body())) {
                    String before = firstCopy.putIfAbsent(event.get("id").asText(), event.toString());
                    if (before != null && !before.equals(event.toString())) {
                        differing.add(before + " <> " + event);
                    }
                }
                return OpenMeterContractServer.Reply.of(204);
            });
            broker.createTopic("usage", 3);
            Map<String, String> env = Map.ofEntries(
                    Map.entry("TOKENMETER_SOURCE", "kafka"),
                    Map.entry("TOKENMETER_KAFKA_BOOTSTRAP_SERVERS", broker.bootstrapServers()),
                    Map.entry("TOKENMETER_KAFKA_TOPIC", "usage"),
                    Map.entry("TOKENMETER_KAFKA_GROUP_ID", "join"),
                    Map.entry("TOKENMETER_OPENMETER_URL", openMeter.baseUri().toString()),
                    Map.entry("TOKENMETER_DEAD_LETTER_DIR", dir.resolve("dead-letters").toString()),
                    Map.entry("TOKENMETER_HTTP_PORT", "0"),
                    Map.entry("TOKENMETER_LOG_FORMAT", "text"),
                    Map.entry("TOKENMETER_BATCH_LINGER_MS", "50"),
                    Map.entry("TOKENMETER_KAFKA_COMMIT_INTERVAL_MS", "200"),
                    Map.entry("TOKENMETER_KAFKA_SESSION_TIMEOUT_MS", "6000"),
                    Map.entry("TOKENMETER_JOIN_WINDOW_MS", "600000"),
                    Map.entry("TOKENMETER_JOIN_LATE_WINDOW_MS", "60000"));
            Path log = dir.resolve("bridge.log");

            // request i at T0 + i s; its row two minutes later, well inside W = 10 min
            try (KafkaProducer<byte[], byte[]> producer = broker.producer()) {
                produce(producer, 0, REQUESTS / 2, 0);
                producer.flush();
            }
            try (BridgeProcess bridge = BridgeProcess.start(env, log)) {
                int half = REQUESTS / 2 - 130;
                Eventually.await("the first requests joined", Duration.ofSeconds(120),
                        () -> firstCopy.size() >= half / 2 || !bridge.alive());
                assertThat(bridge.alive()).as("bridge running; log %s", log).isTrue();
                // the last 120 requests of the first half still wait for rows that are not produced yet
                bridge.kill();
            }
            for (int i = REQUESTS / 2 - 120; i < REQUESTS / 2; i++) {
                assertThat(firstCopy).as("request %d waited for its row when the bridge was killed", i)
                        .doesNotContainKey(Records.requestId(i));
            }
            try (KafkaProducer<byte[], byte[]> producer = broker.producer()) {
                produce(producer, REQUESTS / 2, REQUESTS, REQUESTS / 2 - 120);
                // time moves on past every window on every partition: nothing is left waiting
                for (int p = 0; p < 3; p++) {
                    Instant end = T0.plusSeconds(REQUESTS + 3600);
                    producer.send(new ProducerRecord<>("usage", p, end.toEpochMilli(), null,
                            JoinRowCodec.write(new Tick(end, "test"))));
                }
                producer.flush();
            }
            try (BridgeProcess bridge = BridgeProcess.start(env, log)) {
                Eventually.await("every request delivered", Duration.ofSeconds(180),
                        () -> firstCopy.size() >= REQUESTS || !bridge.alive());
                assertThat(bridge.alive()).as("bridge running; log %s", log).isTrue();
                assertThat(bridge.terminate(Duration.ofSeconds(30))).isIn(0, 143);
            }

            assertThat(openMeter.violations()).isEmpty();
            assertThat(differing).as("events sent twice with different bodies").isEmpty();
            assertThat(firstCopy).hasSize(REQUESTS);
            for (int i = 0; i < REQUESTS; i++) {
                JsonNode data = JSON.readTree(firstCopy.get(Records.requestId(i))).get("data");
                assertThat(data.get("usage_source").asText()).as("request %d", i).isEqualTo("joined");
                assertThat(data.get("completion_tokens").asLong()).as("request %d", i).isEqualTo(57);
                assertThat(data.get("prompt_tokens").asLong()).as("request %d", i).isEqualTo(100 + i);
            }
        }
    }

    /**
     * Records {@code from..to} in time order, each row two minutes after its record; rows of records before
     * {@code rowsFrom} came earlier. A row's time and key are those the re-key stage gives it.
     */
    private static void produce(KafkaProducer<byte[], byte[]> producer, int from, int to, int rowsFrom) {
        for (int i = from; i < to; i++) {
            Instant at = T0.plusSeconds(i);
            send(producer, at, Records.requestId(i), Records.streamed(i));
            int rowOf = i - 120;
            if (rowOf >= rowsFrom) {
                send(producer, at, Records.requestId(rowOf), JoinRowCodec.write(new LlmUsage(Records.requestId(rowOf),
                        at, "gpt-4o", "gpt-4o-2024-08-06", "2024-10-21", true, 100 + rowOf, 57, 157 + rowOf, 0L,
                        "chatcmpl-" + rowOf)));
            }
        }
        if (to == REQUESTS) {
            for (int rowOf = Math.max(rowsFrom, to - 120); rowOf < to; rowOf++) {
                Instant at = T0.plusSeconds(rowOf + 120);
                send(producer, at, Records.requestId(rowOf), JoinRowCodec.write(new LlmUsage(Records.requestId(rowOf),
                        at, "gpt-4o", "gpt-4o-2024-08-06", "2024-10-21", true, 100 + rowOf, 57, 157 + rowOf, 0L,
                        "chatcmpl-" + rowOf)));
            }
        }
    }

    private static void send(KafkaProducer<byte[], byte[]> producer, Instant at, String key, byte[] value) {
        producer.send(new ProducerRecord<>("usage", null, at.toEpochMilli(), key.getBytes(StandardCharsets.UTF_8), value));
    }

}
