package dev.tokenmeter.bridge.rekey;

import dev.tokenmeter.bridge.deadletter.DirectoryDeadLetterStore;
import dev.tokenmeter.bridge.join.JoinRowCodec;
import dev.tokenmeter.bridge.join.LlmUsage;
import dev.tokenmeter.bridge.join.Tick;
import dev.tokenmeter.bridge.llmlog.LlmLogParser;
import dev.tokenmeter.bridge.pipeline.CheckpointTracker;
import dev.tokenmeter.bridge.source.kafka.KafkaAuth;
import dev.tokenmeter.bridge.source.kafka.KafkaSettings;
import dev.tokenmeter.bridge.source.kafka.KafkaSource;
import dev.tokenmeter.bridge.source.testing.KafkaBroker;
import dev.tokenmeter.bridge.support.Eventually;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The re-key stage end to end on real KRaft brokers in the test JVM: {@link KafkaSource} on a diagnostic topic,
 * {@link RekeyStage}, {@link KafkaRekeyTarget} into a usage topic. The messages are reconstructions of the
 * documented shape ({@link DiagnosticMessages}), not captures.
 */
class RekeyKafkaTest {

    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final AtomicInteger TOPICS = new AtomicInteger();
    private static final String EMITTER = "rekey-test";
    private static KafkaBroker broker;

    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final List<AutoCloseable> cleanUp = new ArrayList<>();

    @BeforeAll
    static void startBroker() {
        broker = KafkaBroker.start();
    }

    @AfterAll
    static void stopBroker() {
        if (broker != null) {
            broker.close();
        }
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (int i = cleanUp.size() - 1; i >= 0; i--) {
            cleanUp.get(i).close();
        }
        threads.shutdownNow();
        assertThat(threads.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    }

    private static String topic(KafkaBroker on, String prefix, int partitions) {
        String topic = prefix + "-" + TOPICS.incrementAndGet();
        on.createTopic(topic, partitions);
        return topic;
    }

    @Test
    void everyTokenRowArrivesOnceKeyedByCanonicalIdOnItsPartitionAndTicksReachEveryPartition(@TempDir Path dir)
            throws Exception {
        String diagnostic = topic(broker, "diagnostic", 3);
        String usage = topic(broker, "usage", 4);
        int messages = 300;
        broker.produce(diagnostic, 0, messages, DiagnosticMessages::message);
        List<DiagnosticMessages.Row> expected = DiagnosticMessages.expectedRows(0, messages);

        Rekey rekey = start(dir, diagnostic, "g-all", kafkaTarget(broker, usage), Duration.ofSeconds(10));
        Eventually.await(expected.size() + " rows acknowledged", WAIT, () -> rekey.rowsOut() == expected.size());
        Eventually.await("ticks on all four partitions", WAIT, Duration.ofMillis(200),
                () -> ticks(broker.readAll(usage, 4)).keySet().equals(Set.of(0, 1, 2, 3)));
        rekey.stop();

        List<ConsumerRecord<byte[], byte[]>> records = broker.readAll(usage, 4);
        List<DiagnosticMessages.Row> rows = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
            JoinRowCodec.Read read = JoinRowCodec.read(r.value());
            assertThat(read).as("every record on the usage topic is a join row").isInstanceOf(JoinRowCodec.Read.Row.class);
            if (((JoinRowCodec.Read.Row) read).row() instanceof LlmUsage usageRow) {
                String key = new String(r.key(), StandardCharsets.UTF_8);
                assertThat(key).isEqualTo(usageRow.correlationId()).isEqualTo(key.toLowerCase());
                // the default partitioner: murmur2 of the key bytes, as for usage records keyed by request id
                assertThat(r.partition()).as("partition of " + key)
                        .isEqualTo(Utils.toPositive(Utils.murmur2(r.key())) % 4);
                rows.add(new DiagnosticMessages.Row(key, new String(r.value(), StandardCharsets.UTF_8)));
            }
        }
        assertThat(rows).as("exactly the llm_usage rows, each once").containsExactlyInAnyOrderElementsOf(expected);
        assertThat(rows).extracting(DiagnosticMessages.Row::key).contains(DiagnosticMessages.id(1), "extra-" + DiagnosticMessages.id(50));
        assertThat(broker.committedOffsets("g-all", diagnostic)).isEqualTo(broker.endOffsets(diagnostic, 3));
        assertThat(rekey.deadLetters.written()).isEqualTo(3);
        assertThat(rekey.metric("tokenmeter_rekey_rows_skipped_total{reason=\"message_chunk\"}")).isEqualTo(297);
        assertThat(rekey.metric("tokenmeter_rekey_rows_skipped_total{reason=\"other_category\"}")).isEqualTo(297);
    }

    @Test
    void commitsStopBeforeARowWhoseAcknowledgementIsHeldAndMoveOnOnceItComes(@TempDir Path dir) throws Exception {
        String diagnostic = topic(broker, "diagnostic", 1);
        String usage = topic(broker, "usage", 2);
        broker.produce(diagnostic, 0, 60, DiagnosticMessages::message);
        String held = DiagnosticMessages.id(20);
        HoldingTarget target = new HoldingTarget(kafkaTarget(broker, usage), held);

        Rekey rekey = start(dir, diagnostic, "g-held", target, Duration.ofSeconds(10));
        int all = DiagnosticMessages.expectedRows(0, 60).size();
        Eventually.await("every row but the held one acknowledged", WAIT, () -> rekey.rowsOut() == all - 1);
        Eventually.await("only the held message unsettled", WAIT, () -> rekey.stage.tracker().pending() == 1);
        Eventually.await("messages before the held one committed", WAIT, Duration.ofMillis(100),
                () -> broker.committedOffsets("g-held", diagnostic).getOrDefault(0, 0L) == 20L);
        // three more tick rounds acknowledged: several commit intervals have passed with everything after 20 settled
        double ticks = rekey.metric("tokenmeter_rekey_ticks_total");
        Eventually.await("three tick rounds", WAIT, () -> rekey.metric("tokenmeter_rekey_ticks_total") >= ticks + 6);
        assertThat(broker.committedOffsets("g-held", diagnostic)).containsEntry(0, 20L);

        target.release();
        Eventually.await("everything committed after the release", WAIT, Duration.ofMillis(100),
                () -> broker.committedOffsets("g-held", diagnostic).getOrDefault(0, 0L) == 60L);
        rekey.stop();
        List<DiagnosticMessages.Row> rows = llmRows(broker.readAll(usage, 2));
        assertThat(rows).containsExactlyInAnyOrderElementsOf(DiagnosticMessages.expectedRows(0, 60));
    }

    @Test
    void whileTheTargetBrokerIsDownNothingIsCommittedAndAfterARestartTheRestIsReKeyed(@TempDir Path dir)
            throws Exception {
        String diagnostic = topic(broker, "diagnostic", 1);
        KafkaBroker first = KafkaBroker.start();
        cleanUp.add(first::close);
        String usage = topic(first, "usage", 2);
        broker.produce(diagnostic, 0, 40, DiagnosticMessages::message);

        Rekey before = start(dir.resolve("before"), diagnostic, "g-down", kafkaTarget(first, usage), Duration.ofSeconds(1));
        Eventually.await("the first 40 messages re-keyed", WAIT,
                () -> before.rowsOut() == DiagnosticMessages.expectedRows(0, 40).size());
        Eventually.await("and committed", WAIT, Duration.ofMillis(100),
                () -> broker.committedOffsets("g-down", diagnostic).getOrDefault(0, 0L) == 40L);

        first.close();
        broker.produce(diagnostic, 40, 60, DiagnosticMessages::message);
        Eventually.await("the next 20 read and unacknowledged", WAIT, () -> before.stage.tracker().pending() == 20);
        assertThat(before.stage.tracker().safePosition("0")).hasValueSatisfying(p -> assertThat(p.sequence()).isEqualTo(39));
        before.stop(); // commits what is safe, synchronously, before leaving the group
        assertThat(broker.committedOffsets("g-down", diagnostic)).containsEntry(0, 40L);
        // leaving the group revoked the partition: the stage forgot its 20 messages rather than ever settling them
        assertThat(before.stage.tracker().pending()).isZero();
        assertThat(before.stage.tracker().safePosition("0")).isEmpty();

        KafkaBroker second = KafkaBroker.start();
        cleanUp.add(second::close);
        String usageAgain = topic(second, "usage", 2);
        Rekey after = start(dir.resolve("after"), diagnostic, "g-down", kafkaTarget(second, usageAgain),
                Duration.ofSeconds(10));
        List<DiagnosticMessages.Row> rest = DiagnosticMessages.expectedRows(40, 60);
        Eventually.await("the 20 unacknowledged messages re-keyed again", WAIT, () -> after.rowsOut() == rest.size());
        Eventually.await("and committed", WAIT, Duration.ofMillis(100),
                () -> broker.committedOffsets("g-down", diagnostic).getOrDefault(0, 0L) == 60L);
        after.stop();
        assertThat(llmRows(second.readAll(usageAgain, 2))).containsExactlyInAnyOrderElementsOf(rest);
    }

    private static KafkaRekeyTarget kafkaTarget(KafkaBroker on, String topic) {
        return new KafkaRekeyTarget(new RekeyTargetSettings.Kafka(on.bootstrapServers(), null, topic));
    }

    private Rekey start(Path deadLetterDir, String topic, String group, RekeyTarget target, Duration shutdownTimeout)
            throws Exception {
        KafkaSource source = new KafkaSource(new KafkaSettings(broker.bootstrapServers(), topic, group, KafkaAuth.NONE,
                null, null, "earliest", 100, Duration.ofMillis(100), Duration.ofSeconds(10), shutdownTimeout));
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        DirectoryDeadLetterStore deadLetters = new DirectoryDeadLetterStore(deadLetterDir);
        RekeyStage stage = new RekeyStage(new RekeySettings(Duration.ofMillis(100), 64, Duration.ofMillis(50),
                Duration.ofSeconds(1), EMITTER), new LlmLogParser(), target, deadLetters, new CheckpointTracker(source),
                new RekeyMetrics(registry), Clock.systemUTC());
        Future<?> run = threads.submit(() -> {
            source.run(stage);
            return null;
        });
        Rekey rekey = new Rekey(source, stage, target, deadLetters, registry, run);
        cleanUp.add(rekey);
        return rekey;
    }

    /** Source, stage and target wired as BridgeMain wires them, the source on its own thread. */
    private static final class Rekey implements AutoCloseable {
        final KafkaSource source;
        final RekeyStage stage;
        final RekeyTarget target;
        final DirectoryDeadLetterStore deadLetters;
        final PrometheusMeterRegistry registry;
        final Future<?> run;

        Rekey(KafkaSource source, RekeyStage stage, RekeyTarget target, DirectoryDeadLetterStore deadLetters,
              PrometheusMeterRegistry registry, Future<?> run) {
            this.source = source;
            this.stage = stage;
            this.target = target;
            this.deadLetters = deadLetters;
            this.registry = registry;
            this.run = run;
        }

        long rowsOut() {
            if (run.isDone()) {
                throw new AssertionError("the source stopped early");
            }
            return (long) metric("tokenmeter_rekey_rows_out_total");
        }

        double metric(String sample) {
            for (String line : registry.scrape().split("\n")) {
                if (line.startsWith(sample + " ")) {
                    return Double.parseDouble(line.substring(sample.length() + 1).trim());
                }
            }
            return -1;
        }

        /** As on SIGTERM: waits (up to the source's shutdown timeout) for what is in flight, commits, leaves. */
        void stop() throws Exception {
            source.stop();
            run.get(60, TimeUnit.SECONDS);
        }

        @Override
        public void close() throws Exception {
            source.stop();
            try {
                run.get(60, TimeUnit.SECONDS);
            } finally {
                stage.close(Duration.ofSeconds(1));
                target.close();
                deadLetters.close();
            }
        }
    }

    /** A real target whose acknowledgement of one key's rows waits for {@link #release()}: the rows are sent. */
    private static final class HoldingTarget implements RekeyTarget {
        private final RekeyTarget target;
        private final String heldKey;
        private final CompletableFuture<Void> gate = new CompletableFuture<>();

        HoldingTarget(RekeyTarget target, String heldKey) {
            this.target = target;
            this.heldKey = heldKey;
        }

        void release() {
            gate.complete(null);
        }

        @Override
        public CompletableFuture<Void> send(String partitionKey, List<byte[]> rows) {
            CompletableFuture<Void> sent = target.send(partitionKey, rows);
            return partitionKey.equals(heldKey) ? sent.thenCompose(done -> gate) : sent;
        }

        @Override
        public CompletableFuture<Void> sendToPartition(String partitionId, byte[] row) {
            return target.sendToPartition(partitionId, row);
        }

        @Override
        public List<String> partitions() {
            return target.partitions();
        }

        @Override
        public String describe() {
            return "held " + target.describe();
        }

        @Override
        public void close() {
            target.close();
        }
    }

    private static List<DiagnosticMessages.Row> llmRows(List<ConsumerRecord<byte[], byte[]>> records) {
        List<DiagnosticMessages.Row> rows = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
            if (JoinRowCodec.read(r.value()) instanceof JoinRowCodec.Read.Row row && row.row() instanceof LlmUsage) {
                rows.add(new DiagnosticMessages.Row(new String(r.key(), StandardCharsets.UTF_8),
                        new String(r.value(), StandardCharsets.UTF_8)));
            }
        }
        return rows;
    }

    /** Partitions that hold a tick from this test's emitter, with their ticks. */
    private static Map<Integer, List<Tick>> ticks(List<ConsumerRecord<byte[], byte[]>> records) {
        Map<Integer, List<Tick>> ticks = new java.util.TreeMap<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
            if (JoinRowCodec.read(r.value()) instanceof JoinRowCodec.Read.Row row && row.row() instanceof Tick tick) {
                assertThat(r.key()).as("a tick has no key: it names its partition").isNull();
                assertThat(tick.emitter()).isEqualTo(EMITTER);
                ticks.computeIfAbsent(r.partition(), p -> new ArrayList<>()).add(tick);
            }
        }
        return ticks;
    }
}
