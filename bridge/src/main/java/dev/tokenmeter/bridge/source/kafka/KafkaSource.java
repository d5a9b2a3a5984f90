package dev.tokenmeter.bridge.source.kafka;

import dev.tokenmeter.bridge.pipeline.Intake;
import dev.tokenmeter.bridge.pipeline.Position;
import dev.tokenmeter.bridge.pipeline.SourceRecord;
import dev.tokenmeter.bridge.source.Source;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Usage records from a Kafka topic (Event Hubs' Kafka endpoint, or any Kafka) in a consumer group. Offsets are
 * committed by hand and only up to the positions the core reports as settled, at most once per commit interval.
 * When partitions are revoked, the source waits (bounded) for their in-flight records, commits what is then safe,
 * and forgets the rest, which the next owner reads again: never a commit past an unacknowledged record.
 *
 * <p>The consumer is used from the thread that calls {@link #run} only; the core's threads just record safe
 * offsets, which that thread commits.
 */
public final class KafkaSource implements Source {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaSource.class);
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(200);
    /** Longer than this without a completed poll and the source is not making progress. */
    private static final Duration POLL_STALE_AFTER = Duration.ofSeconds(60);
    private static final Duration MAX_ERROR_BACKOFF = Duration.ofSeconds(30);

    private final KafkaSettings settings;

    /** Next offset to commit per partition (safe sequence + 1), written by the core's threads. */
    private final Map<Integer, Long> safeNext = new ConcurrentHashMap<>();
    private final Set<Integer> owned = ConcurrentHashMap.newKeySet();
    private final Object progress = new Object();
    private final CountDownLatch stopRequested = new CountDownLatch(1);

    // used by the polling thread only
    private final Map<Integer, Long> committedNext = new HashMap<>();
    private final Map<Integer, Long> lastSubmitted = new HashMap<>();

    private volatile Consumer<byte[], byte[]> consumer;
    private volatile boolean stopped;
    private volatile boolean joined;
    private volatile boolean connected;
    private volatile long lastPollNanos = System.nanoTime();
    private volatile String failure;

    public KafkaSource(KafkaSettings settings) {
        this.settings = settings;
    }

    @Override
    public void run(Intake pipeline) throws InterruptedException {
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(KafkaClientConfig.consumer(settings))) {
            consumer = c;
            if (stopped) {
                return;
            }
            c.subscribe(List.of(settings.topic()), new Rebalance(c, pipeline));
            LOG.info("consuming {}", settings.describe());
            poll(c, pipeline);
            // stopping: let what is in flight settle, commit it, then leave the group (close) so others take over now
            Set<Integer> mine = Set.copyOf(owned);
            if (!awaitSettled(pipeline, mine, deadline(settings.shutdownTimeout()))) {
                LOG.warn("stopping with records of partitions {} still unacknowledged; they stay uncommitted", mine);
            }
            commit(c, mine, true);
        } finally {
            consumer = null;
        }
    }

    private void poll(Consumer<byte[], byte[]> c, Intake pipeline) throws InterruptedException {
        long nextCommit = System.nanoTime() + settings.commitInterval().toNanos();
        int errors = 0;
        while (!stopped) {
            ConsumerRecords<byte[], byte[]> records;
            try {
                records = c.poll(POLL_TIMEOUT);
                errors = 0;
                failure = null;
            } catch (WakeupException e) {
                continue;
            } catch (KafkaException e) {
                // authorization, authentication, an unknown topic: keep trying, but say so and report not ready
                errors++;
                failure = e.getClass().getSimpleName() + ": " + e.getMessage();
                Duration wait = backoff(errors);
                LOG.error("polling {} failed (attempt {}), retrying in {} ms: {}", settings.topic(), errors,
                        wait.toMillis(), failure);
                stopRequested.await(wait.toMillis(), TimeUnit.MILLISECONDS);
                continue;
            }
            lastPollNanos = System.nanoTime();
            connected = connectionCount(c) > 0;
            for (ConsumerRecord<byte[], byte[]> r : records) {
                if (stopped) {
                    break;
                }
                byte[] value = r.value() != null ? r.value() : new byte[0];
                pipeline.submit(new SourceRecord(Integer.toString(r.partition()), Position.of(r.offset()), value,
                        r.timestamp() < 0 ? null : java.time.Instant.ofEpochMilli(r.timestamp())));
                lastSubmitted.put(r.partition(), r.offset());
            }
            if (System.nanoTime() - nextCommit >= 0) {
                commit(c, owned, false);
                nextCommit = System.nanoTime() + settings.commitInterval().toNanos();
            }
        }
    }

    /** Commits the safe offsets of {@code partitions} that moved since the last commit. */
    private void commit(Consumer<byte[], byte[]> c, Collection<Integer> partitions, boolean sync) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (Integer p : partitions) {
            Long next = safeNext.get(p);
            if (next != null && next > committedNext.getOrDefault(p, -1L)) {
                offsets.put(new TopicPartition(settings.topic(), p), new OffsetAndMetadata(next));
            }
        }
        if (offsets.isEmpty()) {
            return;
        }
        if (!sync) {
            c.commitAsync(offsets, (done, error) -> {
                if (error != null) {
                    LOG.warn("committing offsets failed, will retry with the next commit: {}", error.toString());
                } else {
                    done.forEach((tp, o) -> committedNext.merge(tp.partition(), o.offset(), Math::max));
                }
            });
            return;
        }
        for (int attempt = 1; attempt <= 2; attempt++) {
            try {
                c.commitSync(offsets);
                offsets.forEach((tp, o) -> committedNext.merge(tp.partition(), o.offset(), Math::max));
                LOG.info("committed offsets {}", describe(offsets));
                return;
            } catch (WakeupException e) {
                // stop() woke the consumer while it was not polling; the wake-up is spent, so try once more
            } catch (KafkaException e) {
                LOG.warn("committing offsets {} failed; those records will be read again: {}", describe(offsets),
                        e.toString());
                return;
            }
        }
    }

    /** Flushes the core and waits until every record submitted for {@code partitions} is settled, or the deadline. */
    private boolean awaitSettled(Intake pipeline, Collection<Integer> partitions, long deadlineNanos)
            throws InterruptedException {
        pipeline.flush();
        synchronized (progress) {
            while (true) {
                boolean settled = true;
                for (Integer p : partitions) {
                    Long last = lastSubmitted.get(p);
                    if (last != null && safeNext.getOrDefault(p, -1L) <= last) {
                        settled = false;
                        break;
                    }
                }
                long left = deadlineNanos - System.nanoTime();
                if (settled || left <= 0) {
                    return settled;
                }
                progress.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
        }
    }

    @Override
    public void safeToCheckpoint(String partition, Position position) {
        safeNext.merge(Integer.parseInt(partition), position.sequence() + 1, Math::max);
        synchronized (progress) {
            progress.notifyAll();
        }
    }

    @Override
    public void stop() {
        stopped = true;
        stopRequested.countDown();
        Consumer<byte[], byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
    }

    /**
     * Ready while polls complete (the loop is not stuck), the client holds a broker connection, the group has been
     * joined and the last poll did not fail. An instance with no partitions (more replicas than partitions) is
     * ready: it is a healthy standby.
     */
    @Override
    public boolean ready() {
        return joined && connected && failure == null
                && System.nanoTime() - lastPollNanos < POLL_STALE_AFTER.toNanos();
    }

    /** Why the last poll failed (authentication, authorization, unknown topic), or null after a good poll. */
    public String failure() {
        return failure;
    }

    /** Partitions currently assigned to this instance. */
    public Set<Integer> ownedPartitions() {
        return Set.copyOf(owned);
    }

    @Override
    public String describe() {
        return settings.describe();
    }

    private static double connectionCount(Consumer<byte[], byte[]> c) {
        for (Map.Entry<MetricName, ? extends Metric> e : c.metrics().entrySet()) {
            if (e.getKey().name().equals("connection-count") && e.getKey().group().equals("consumer-metrics")
                    && e.getValue().metricValue() instanceof Double d) {
                return d;
            }
        }
        return 0;
    }

    private static Duration backoff(int errors) {
        long ms = Math.min(MAX_ERROR_BACKOFF.toMillis(), 500L << Math.min(errors - 1, 10));
        return Duration.ofMillis(ms);
    }

    private static long deadline(Duration timeout) {
        return System.nanoTime() + timeout.toNanos();
    }

    private static String describe(Map<TopicPartition, OffsetAndMetadata> offsets) {
        List<String> parts = new ArrayList<>();
        offsets.forEach((tp, o) -> parts.add(tp.partition() + "=" + o.offset()));
        parts.sort(null);
        return String.join(", ", parts);
    }

    /** Runs inside poll() on the polling thread, so it may use the consumer. */
    private final class Rebalance implements ConsumerRebalanceListener {
        private final Consumer<byte[], byte[]> c;
        private final Intake pipeline;

        Rebalance(Consumer<byte[], byte[]> c, Intake pipeline) {
            this.c = c;
            this.pipeline = pipeline;
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            joined = true;
            for (TopicPartition tp : partitions) {
                // a fresh start: whatever this instance knew of the partition from an earlier assignment is stale
                safeNext.remove(tp.partition());
                committedNext.remove(tp.partition());
                lastSubmitted.remove(tp.partition());
                owned.add(tp.partition());
            }
            if (!partitions.isEmpty()) {
                LOG.info("assigned partitions {}", numbers(partitions));
            }
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            if (partitions.isEmpty()) {
                return;
            }
            List<Integer> revoked = numbers(partitions);
            try {
                // settle: the budget stays well inside the group's rebalance timeout (max.poll.interval.ms)
                if (!awaitSettled(pipeline, revoked, deadline(settings.shutdownTimeout()))) {
                    LOG.warn("partitions {} revoked with records still unacknowledged; the next owner reads them again",
                            revoked);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            commit(c, revoked, true);
            drop(revoked);
            LOG.info("revoked partitions {}", revoked);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            // no longer a member: a commit would be refused, and another instance already reads these partitions
            List<Integer> lost = numbers(partitions);
            drop(lost);
            LOG.warn("lost partitions {} (left the group); their unacknowledged records are read again by the next owner",
                    lost);
        }

        private void drop(List<Integer> partitions) {
            for (Integer p : partitions) {
                owned.remove(p);
                pipeline.forget(Integer.toString(p));
                safeNext.remove(p);
                committedNext.remove(p);
                lastSubmitted.remove(p);
            }
        }

        private List<Integer> numbers(Collection<TopicPartition> partitions) {
            List<Integer> list = new ArrayList<>();
            for (TopicPartition tp : partitions) {
                list.add(tp.partition());
            }
            list.sort(null);
            return list;
        }
    }
}
