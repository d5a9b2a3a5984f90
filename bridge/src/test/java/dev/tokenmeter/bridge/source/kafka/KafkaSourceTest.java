package dev.tokenmeter.bridge.source.kafka;

import dev.tokenmeter.bridge.source.testing.CollectingSink;
import dev.tokenmeter.bridge.source.testing.KafkaBroker;
import dev.tokenmeter.bridge.support.Eventually;
import dev.tokenmeter.bridge.support.Records;
import dev.tokenmeter.bridge.support.TestPipeline;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** The Kafka source against a real KRaft broker started by the test. */
class KafkaSourceTest {

    private static final AtomicInteger TOPICS = new AtomicInteger();
    private static KafkaBroker broker;
    private final ExecutorService threads = Executors.newCachedThreadPool();

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

    private static String newTopic(int partitions) {
        String topic = "usage-" + TOPICS.incrementAndGet();
        broker.createTopic(topic, partitions);
        return topic;
    }

    private static KafkaSettings plain(String topic, String group, Duration shutdownTimeout) {
        return new KafkaSettings(broker.bootstrapServers(), topic, group, KafkaAuth.NONE, null, null, "earliest",
                500, Duration.ofMillis(200), Duration.ofSeconds(10), shutdownTimeout);
    }

    @Test
    void deliversEveryRecordAndCommitsTheEndOfEachPartitionOnStop(@TempDir Path dir) throws Exception {
        String topic = newTopic(3);
        broker.produce(topic, 0, 3000, Records::valid);
        CollectingSink sink = new CollectingSink();
        KafkaSource source = new KafkaSource(plain(topic, "g-all", Duration.ofSeconds(10)));
        TestPipeline t = new TestPipeline(sink, dir, TestPipeline.settings(200, 4), source);
        Future<?> run = threads.submit(() -> {
            source.run(t.pipeline);
            return null;
        });

        Eventually.await("3000 records acknowledged", Duration.ofSeconds(60), () -> sink.distinct() == 3000);
        Eventually.await("source ready", Duration.ofSeconds(10), source::ready);
        assertThat(source.ownedPartitions()).containsExactlyInAnyOrder(0, 1, 2);
        source.stop();
        run.get(30, TimeUnit.SECONDS);
        t.pipeline.close(Duration.ofSeconds(5));

        assertThat(committed(topic, "g-all")).isEqualTo(endOffsets(topic, 3));
        assertThat(sink.duplicates()).isZero();
    }

    @Test
    void neverCommitsPastARecordTheSinkHasNotAcknowledged(@TempDir Path dir) throws Exception {
        String topic = newTopic(1);
        broker.produce(topic, 0, 400, Records::valid);
        CollectingSink sink = new CollectingSink();
        sink.hold(Records.requestId(150));
        KafkaSource source = new KafkaSource(plain(topic, "g-hold", Duration.ofMillis(500)));
        TestPipeline t = new TestPipeline(sink, dir, TestPipeline.settings(10, 4), source);
        Future<?> run = threads.submit(() -> {
            source.run(t.pipeline);
            return null;
        });
        try {
            Eventually.await("records after the held one acknowledged", Duration.ofSeconds(60),
                    () -> sink.acknowledged(Records.requestId(175)) && sink.heldBatches() == 1);
            Eventually.await("records before the held one committed", Duration.ofSeconds(30),
                    () -> committed(topic, "g-hold").getOrDefault(0, 0L) >= 140);
            source.stop();
            run.get(30, TimeUnit.SECONDS);

            // offset 150 is the held record: the committed offset (the next record to read) never passes it
            assertThat(committed(topic, "g-hold").get(0)).isBetween(140L, 150L);
        } finally {
            sink.releaseAll();
            t.pipeline.close(Duration.ofSeconds(5));
        }
    }

    @Test
    void readsEventHubsStyleSaslPlainWithTheConnectionStringUser(@TempDir Path dir) throws Exception {
        String topic = newTopic(2);
        broker.produce(topic, 0, 200, Records::valid);
        KafkaSettings settings = new KafkaSettings(broker.saslBootstrapServers(), topic, "g-sasl",
                KafkaAuth.EVENTHUBS_CONNECTION_STRING, KafkaBroker.CONNECTION_STRING, "SASL_PLAINTEXT", "earliest",
                500, Duration.ofMillis(200), Duration.ofSeconds(10), Duration.ofSeconds(5));
        CollectingSink sink = new CollectingSink();
        KafkaSource source = new KafkaSource(settings);
        TestPipeline t = new TestPipeline(sink, dir, TestPipeline.settings(100, 2), source);
        Future<?> run = threads.submit(() -> {
            source.run(t.pipeline);
            return null;
        });
        try {
            Eventually.await("200 records through the SASL listener", Duration.ofSeconds(60), () -> sink.distinct() == 200);
            Eventually.await("source ready", Duration.ofSeconds(10), source::ready);
            assertThat(source.describe()).doesNotContain("SharedAccessKey");
        } finally {
            source.stop();
            run.get(30, TimeUnit.SECONDS);
            t.pipeline.close(Duration.ofSeconds(5));
        }
    }

    @Test
    void aWrongConnectionStringIsNotReadyAndReadsNothing(@TempDir Path dir) throws Exception {
        String topic = newTopic(1);
        broker.produce(topic, 0, 10, Records::valid);
        String wrong = KafkaBroker.CONNECTION_STRING.replace("SharedAccessKey=dGVz", "SharedAccessKey=d3Jv");
        KafkaSettings settings = new KafkaSettings(broker.saslBootstrapServers(), topic, "g-wrong",
                KafkaAuth.EVENTHUBS_CONNECTION_STRING, wrong, "SASL_PLAINTEXT", "earliest", 500,
                Duration.ofMillis(200), Duration.ofSeconds(10), Duration.ofSeconds(5));
        CollectingSink sink = new CollectingSink();
        KafkaSource source = new KafkaSource(settings);
        TestPipeline t = new TestPipeline(sink, dir, TestPipeline.settings(100, 2), source);
        Future<?> run = threads.submit(() -> {
            source.run(t.pipeline);
            return null;
        });
        try {
            Eventually.await("an authentication failure reported", Duration.ofSeconds(30), () -> source.failure() != null);
            assertThat(source.ready()).isFalse();
            assertThat(sink.distinct()).isZero();
        } finally {
            source.stop();
            run.get(30, TimeUnit.SECONDS);
            t.pipeline.close(Duration.ofSeconds(5));
        }
    }

    private static Map<Integer, Long> committed(String topic, String group) {
        return broker.committedOffsets(group, topic);
    }

    private static Map<Integer, Long> endOffsets(String topic, int partitions) {
        return broker.endOffsets(topic, partitions);
    }
}
