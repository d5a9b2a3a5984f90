package dev.tokenmeter.bridge.source.kafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenmeter.bridge.source.testing.BridgeProcess;
import dev.tokenmeter.bridge.source.testing.KafkaBroker;
import dev.tokenmeter.bridge.support.Eventually;
import dev.tokenmeter.bridge.support.Records;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SIGTERM under load: the bridge process exits only after its final commit and after leaving the consumer group,
 * so what it delivered is committed (nothing acknowledged is read again) and the next instance gets the partitions at
 * once instead of after the session timeout. Offsets are committed only at stop here (a long commit interval), so a
 * missing final commit cannot hide behind a periodic one.
 */
class KafkaSigtermTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int RECORDS = 60_000;

    @Test
    void sigtermCommitsEverythingDeliveredAndLeavesTheGroup(@TempDir Path dir) throws Exception {
        Set<String> delivered = ConcurrentHashMap.newKeySet();
        try (KafkaBroker broker = KafkaBroker.start(); OpenMeterContractServer openMeter = OpenMeterContractServer.start()) {
            openMeter.route("POST", "/api/v1/events", request -> {
                for (JsonNode event : JSON.readTree(request.body())) {
                    delivered.add(event.get("id").asText());
                }
                return OpenMeterContractServer.Reply.of(204);
            });
            broker.createTopic("usage", 4);
            broker.produce("usage", 0, RECORDS, Records::valid);
            Map<String, String> env = Map.ofEntries(
                    Map.entry("TOKENMETER_SOURCE", "kafka"),
                    Map.entry("TOKENMETER_KAFKA_BOOTSTRAP_SERVERS", broker.bootstrapServers()),
                    Map.entry("TOKENMETER_KAFKA_TOPIC", "usage"),
                    Map.entry("TOKENMETER_KAFKA_GROUP_ID", "sigterm"),
                    Map.entry("TOKENMETER_KAFKA_COMMIT_INTERVAL_MS", "600000"),
                    Map.entry("TOKENMETER_KAFKA_SESSION_TIMEOUT_MS", "45000"),
                    Map.entry("TOKENMETER_OPENMETER_URL", openMeter.baseUri().toString()),
                    Map.entry("TOKENMETER_DEAD_LETTER_DIR", dir.resolve("dead-letters").toString()),
                    Map.entry("TOKENMETER_HTTP_PORT", "0"),
                    Map.entry("TOKENMETER_LOG_FORMAT", "text"),
                    Map.entry("TOKENMETER_SHUTDOWN_TIMEOUT_MS", "10000"));
            Path log = dir.resolve("bridge.log");
            try (BridgeProcess bridge = BridgeProcess.start(env, log)) {
                Eventually.await("deliveries under way", Duration.ofSeconds(120),
                        () -> delivered.size() >= RECORDS / 6 || !bridge.alive());
                assertThat(bridge.alive()).as("bridge running; log %s", log).isTrue();
                assertThat(bridge.terminate(Duration.ofSeconds(60))).as("exit after SIGTERM; log %s", log).isIn(0, 143);
            }
            assertThat(delivered.size()).as("stopped mid-stream").isLessThan(RECORDS);
            long committed = broker.committedOffsets("sigterm", "usage").values().stream().mapToLong(Long::longValue).sum();
            // every record is delivered once here, so what the partitions committed is exactly what was delivered
            assertThat(committed).as("committed offsets (sum over partitions) against records delivered")
                    .isEqualTo(delivered.size());
            try (Admin admin = broker.admin()) {
                ConsumerGroupDescription group = admin.describeConsumerGroups(List.of("sigterm")).all().get().get("sigterm");
                assertThat(group.members()).as("the stopped bridge left its group (no 45 s wait for the next one)").isEmpty();
            }
            assertThat(openMeter.violations()).isEmpty();
        }
    }
}
