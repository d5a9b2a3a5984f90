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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * 200,000 records through the bridge as a child process, killed with SIGKILL at random points of the stream and
 * restarted each time, against the local OpenMeter contract server: every request id arrives, every duplicate is
 * identical to the first copy, and the duplicate rate is printed.
 */
class KafkaCrashTest {

    private static final int RECORDS = 200_000;
    private static final int KILLS = 6;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** First copy of each event, as sent; duplicates are compared with it. */
    private final Map<String, String> firstCopy = new ConcurrentHashMap<>();
    private final AtomicLong duplicates = new AtomicLong();
    private final List<String> differingDuplicates = new CopyOnWriteArrayList<>();

    @Test
    void survivesRepeatedSigkillWithoutLosingOrAlteringEvents(@TempDir Path dir) throws Exception {
        long seed = Long.getLong("tokenmeter.crash.seed", System.nanoTime());
        Random random = new Random(seed);
        try (KafkaBroker broker = KafkaBroker.start(); OpenMeterContractServer openMeter = OpenMeterContractServer.start()) {
            openMeter.route("POST", "/api/v1/events", request -> {
                for (JsonNode event : JSON.readTree(request.body())) {
                    String text = event.toString();
                    String before = firstCopy.putIfAbsent(event.get("id").asText(), text);
                    if (before != null) {
                        duplicates.incrementAndGet();
                        if (!before.equals(text)) {
                            differingDuplicates.add(before + " <> " + text);
                        }
                    }
                }
                return OpenMeterContractServer.Reply.of(204);
            });
            broker.createTopic("usage", 4);
            long started = System.nanoTime();
            broker.produce("usage", 0, RECORDS, Records::valid);
            System.out.printf("produced %d records in %d ms%n", RECORDS, (System.nanoTime() - started) / 1_000_000);

            Map<String, String> env = Map.of(
                    "TOKENMETER_SOURCE", "kafka",
                    "TOKENMETER_KAFKA_BOOTSTRAP_SERVERS", broker.bootstrapServers(),
                    "TOKENMETER_KAFKA_TOPIC", "usage",
                    "TOKENMETER_KAFKA_GROUP_ID", "crash",
                    "TOKENMETER_OPENMETER_URL", openMeter.baseUri().toString(),
                    "TOKENMETER_DEAD_LETTER_DIR", dir.resolve("dead-letters").toString(),
                    "TOKENMETER_HTTP_PORT", "0",
                    "TOKENMETER_LOG_FORMAT", "text",
                    "TOKENMETER_BATCH_LINGER_MS", "100",
                    // a killed member is noticed after this; the default 30 s would make every restart wait that long
                    "TOKENMETER_KAFKA_SESSION_TIMEOUT_MS", "6000");
            Path log = dir.resolve("bridge.log");

            // kill points spread over the stream, each somewhere random in its own stretch
            List<Integer> killAt = new ArrayList<>();
            for (int k = 0; k < KILLS; k++) {
                int stretch = RECORDS * 9 / 10 / KILLS;
                killAt.add(RECORDS / 20 + k * stretch + random.nextInt(stretch));
            }
            int restarts = 0;
            for (int threshold : killAt) {
                try (BridgeProcess bridge = BridgeProcess.start(env, log)) {
                    restarts++;
                    Eventually.await(threshold + " events delivered (run " + restarts + ")", Duration.ofSeconds(120),
                            () -> firstCopy.size() >= threshold || !bridge.alive());
                    assertThat(bridge.alive()).as("bridge still running; log %s", log).isTrue();
                    bridge.kill();
                    System.out.printf("killed run %d at %d events, %d ms%n", restarts, firstCopy.size(),
                            (System.nanoTime() - started) / 1_000_000);
                }
            }
            try (BridgeProcess bridge = BridgeProcess.start(env, log)) {
                Eventually.await("all " + RECORDS + " request ids delivered", Duration.ofSeconds(180),
                        () -> firstCopy.size() >= RECORDS || !bridge.alive());
                System.out.printf("all delivered at %d ms%n", (System.nanoTime() - started) / 1_000_000);
                // every id has arrived at least once, but this last run may still be re-reading what earlier runs
                // sent before they were killed: it is done when its commits reach the end of every partition
                Map<Integer, Long> end = broker.endOffsets("usage", 4);
                Eventually.await("the last run to commit the end of every partition", Duration.ofSeconds(180),
                        Duration.ofMillis(500), () -> end.equals(broker.committedOffsets("crash", "usage")) || !bridge.alive());
                // a JVM ended by SIGTERM exits with 143 once its shutdown hook is done
                assertThat(bridge.terminate(Duration.ofSeconds(30))).as("exit code after SIGTERM").isIn(0, 143);
                assertThat(broker.committedOffsets("crash", "usage")).as("committed after SIGTERM").isEqualTo(end);
            }

            assertThat(openMeter.violations()).isEmpty();
            for (int i = 0; i < RECORDS; i += 997) {
                assertThat(firstCopy).containsKey(Records.requestId(i));
            }
            assertThat(firstCopy).hasSize(RECORDS);
            assertThat(differingDuplicates).as("duplicates that differ from the first copy").isEmpty();
            System.out.printf("crash test (seed %d): %d SIGKILLs at %s; %d records, %d duplicates delivered "
                            + "(duplicate rate %.2f%%)%n", seed, KILLS, killAt, RECORDS, duplicates.get(),
                    100.0 * duplicates.get() / RECORDS);
        }
    }
}
