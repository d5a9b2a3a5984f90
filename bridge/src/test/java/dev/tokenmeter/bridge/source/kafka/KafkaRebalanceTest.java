package dev.tokenmeter.bridge.source.kafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenmeter.bridge.source.testing.BridgeProcess;
import dev.tokenmeter.bridge.source.testing.KafkaBroker;
import dev.tokenmeter.bridge.support.Eventually;
import dev.tokenmeter.bridge.support.Records;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two bridge processes in one consumer group share the topic; one is stopped (SIGTERM, as a scale-in does) in the
 * middle of the stream. Its partitions move to the other, and every record still reaches OpenMeter.
 */
class KafkaRebalanceTest {

    private static final int RECORDS = 40_000;
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void scaleInMidStreamLosesNothing(@TempDir Path dir) throws Exception {
        Map<String, Integer> seen = new ConcurrentHashMap<>();
        AtomicLong events = new AtomicLong();
        try (KafkaBroker broker = KafkaBroker.start(); OpenMeterContractServer openMeter = OpenMeterContractServer.start()) {
            openMeter.route("POST", "/api/v1/events", request -> {
                for (JsonNode event : JSON.readTree(request.body())) {
                    seen.merge(event.get("id").asText(), 1, Integer::sum);
                    events.incrementAndGet();
                }
                return OpenMeterContractServer.Reply.of(204);
            });
            broker.createTopic("usage", 4);
            // half the stream before the first instance starts, the other half only after it was stopped: it is
            // stopped mid-stream whatever the machine's speed
            broker.produce("usage", 0, RECORDS / 2, Records::valid);
            Map<String, String> env = new HashMap<>(Map.of(
                    "TOKENMETER_SOURCE", "kafka",
                    "TOKENMETER_KAFKA_BOOTSTRAP_SERVERS", broker.bootstrapServers(),
                    "TOKENMETER_KAFKA_TOPIC", "usage",
                    "TOKENMETER_KAFKA_GROUP_ID", "pair",
                    "TOKENMETER_OPENMETER_URL", openMeter.baseUri().toString(),
                    "TOKENMETER_HTTP_PORT", "0",
                    "TOKENMETER_LOG_FORMAT", "text",
                    "TOKENMETER_KAFKA_SESSION_TIMEOUT_MS", "6000"));

            env.put("TOKENMETER_DEAD_LETTER_DIR", dir.resolve("a-dead-letters").toString());
            try (BridgeProcess a = BridgeProcess.start(env, dir.resolve("a.log"))) {
                Eventually.await("first instance consuming", Duration.ofSeconds(60), () -> !seen.isEmpty() || !a.alive());
                env.put("TOKENMETER_DEAD_LETTER_DIR", dir.resolve("b-dead-letters").toString());
                try (BridgeProcess b = BridgeProcess.start(env, dir.resolve("b.log"))) {
                    Eventually.await("second instance assigned partitions", Duration.ofSeconds(60),
                            () -> b.logText().contains("assigned partitions") || !b.alive());
                    assertThat(a.terminate(Duration.ofSeconds(30))).isIn(0, 143);
                    assertThat(a.logText()).contains("revoked partitions");
                    broker.produce("usage", RECORDS / 2, RECORDS, Records::valid);

                    Eventually.await("every record delivered", Duration.ofSeconds(120),
                            () -> seen.size() == RECORDS || !b.alive());
                    // every id arrived, but the survivor may still be re-reading what the stopped instance had in
                    // flight: it is done when its commits reach the end of every partition
                    Map<Integer, Long> end = broker.endOffsets("usage", 4);
                    Eventually.await("the survivor to commit the end of every partition", Duration.ofSeconds(120),
                            Duration.ofMillis(500), () -> end.equals(broker.committedOffsets("pair", "usage")) || !b.alive());
                    assertThat(b.terminate(Duration.ofSeconds(30))).isIn(0, 143);
                }
            }
            assertThat(openMeter.violations()).isEmpty();
            assertThat(seen).hasSize(RECORDS);
            assertThat(broker.committedOffsets("pair", "usage")).isEqualTo(broker.endOffsets("usage", 4));
            System.out.printf("rebalance test: %d records, %d events delivered (%d duplicates)%n", RECORDS,
                    events.get(), events.get() - RECORDS);
        }
    }
}
