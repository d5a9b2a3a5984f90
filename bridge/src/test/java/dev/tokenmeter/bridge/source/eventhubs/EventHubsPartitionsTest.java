package dev.tokenmeter.bridge.source.eventhubs;

import com.azure.messaging.eventhubs.EventData;
import com.azure.messaging.eventhubs.models.CloseContext;
import com.azure.messaging.eventhubs.models.CloseReason;
import com.azure.messaging.eventhubs.models.ErrorContext;
import com.azure.messaging.eventhubs.models.EventBatchContext;
import com.azure.messaging.eventhubs.models.InitializationContext;
import com.azure.messaging.eventhubs.models.PartitionContext;
import dev.tokenmeter.bridge.source.testing.CollectingSink;
import dev.tokenmeter.bridge.source.testing.InMemoryCheckpointStore;
import dev.tokenmeter.bridge.source.testing.ReceivedEvents;
import dev.tokenmeter.bridge.pipeline.PipelineSettings;
import dev.tokenmeter.bridge.support.Eventually;
import dev.tokenmeter.bridge.support.Records;
import dev.tokenmeter.bridge.support.TestPipeline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

/**
 * The processor's callbacks, driven with the SDK's own context objects (no Event Hubs, no Docker): what reaches
 * the core, what is checkpointed and when, ownership loss, failures, readiness.
 */
class EventHubsPartitionsTest {

    private static final PartitionContext P0 = new PartitionContext("tokenmeter-test.servicebus.windows.net", "usage",
            "$Default", "0");

    private final InMemoryCheckpointStore store = new InMemoryCheckpointStore();
    private final CollectingSink sink = new CollectingSink();
    private TestPipeline t;

    @AfterEach
    void close() throws InterruptedException {
        sink.releaseAll();
        if (t != null) {
            t.pipeline.close(Duration.ofSeconds(5));
        }
    }

    private EventHubsPartitions partitions(Path dir, Duration heartbeatTimeout) throws Exception {
        return partitions(dir, heartbeatTimeout, TestPipeline.settings(10, 4));
    }

    private EventHubsPartitions partitions(Path dir, Duration heartbeatTimeout, PipelineSettings settings) throws Exception {
        EventHubsPartitions[] holder = new EventHubsPartitions[1];
        t = new TestPipeline(sink, dir, settings, (p, pos) -> holder[0].safeToCheckpoint(p, pos));
        holder[0] = new EventHubsPartitions(t.pipeline, store, Duration.ofHours(1), heartbeatTimeout);
        return holder[0];
    }

    private EventBatchContext batch(PartitionContext partition, int from, int to) {
        List<EventData> events = new ArrayList<>();
        for (int i = from; i < to; i++) {
            events.add(ReceivedEvents.event(i, Records.valid(i)));
        }
        return new EventBatchContext(partition, events, store, null);
    }

    @Test
    void checkpointsOnlyWhatTheSinkAcknowledged(@TempDir Path dir) throws Exception {
        EventHubsPartitions handlers = partitions(dir, Duration.ofMinutes(1));
        handlers.onInitialize(new InitializationContext(P0));
        sink.hold(Records.requestId(50));
        handlers.onBatch(batch(P0, 0, 100));
        t.pipeline.flush();
        Eventually.await("everything but the held batch settled", Duration.ofSeconds(10),
                () -> sink.heldBatches() == 1 && sink.distinct() + sink.heldEvents() == 100);

        handlers.writeAllCheckpoints();
        // where the held batch starts depends on the linger time under load; the checkpoint must stop just before it
        int firstUnacknowledged = 0;
        while (sink.acknowledged(Records.requestId(firstUnacknowledged))) {
            firstUnacknowledged++;
        }
        assertThat(firstUnacknowledged).as("the batch with 50 is unacknowledged").isLessThanOrEqualTo(50);
        long expected = firstUnacknowledged - 1;
        assertThat(store.checkpoint("0").getSequenceNumber()).as("one before the first unacknowledged event")
                .isEqualTo(expected);
        assertThat(store.checkpoint("0").getOffsetString()).isEqualTo(ReceivedEvents.offsetOf((int) expected));
        assertThat(store.checkpoint("0").getFullyQualifiedNamespace()).isEqualTo(P0.getFullyQualifiedNamespace());
        assertThat(store.checkpoint("0").getConsumerGroup()).isEqualTo("$default");

        sink.releaseAll();
        Eventually.await("all settled", Duration.ofSeconds(10), () -> t.pipeline.tracker().pending() == 0);
        handlers.writeAllCheckpoints();
        assertThat(store.checkpoint("0").getSequenceNumber()).isEqualTo(99L);
    }

    @Test
    void checkpointsAreThrottledPerPartition(@TempDir Path dir) throws Exception {
        EventHubsPartitions[] holder = new EventHubsPartitions[1];
        t = new TestPipeline(sink, dir, TestPipeline.settings(10, 4), (p, pos) -> holder[0].safeToCheckpoint(p, pos));
        EventHubsPartitions handlers = new EventHubsPartitions(t.pipeline, store, Duration.ofMillis(300), Duration.ofMinutes(1));
        holder[0] = handlers;
        handlers.onInitialize(new InitializationContext(P0));
        long start = System.nanoTime();
        for (int round = 0; round < 5; round++) {
            handlers.onBatch(batch(P0, round * 20, round * 20 + 20));
            t.pipeline.flush();
            int expected = round * 20 + 20;
            Eventually.await("round settled", Duration.ofSeconds(10), () -> sink.distinct() == expected);
            handlers.writeDueCheckpoints();
        }
        long elapsedMs = (System.nanoTime() - start) / 1_000_000;
        assertThat(store.writes.size()).as("writes in %d ms at most one per 300 ms", elapsedMs)
                .isLessThanOrEqualTo((int) (elapsedMs / 300));
        Eventually.await("a due checkpoint reaches the end", Duration.ofSeconds(5), () -> {
            handlers.writeDueCheckpoints();
            return store.checkpoint("0") != null && store.checkpoint("0").getSequenceNumber() == 99L;
        });
    }

    @Test
    void ownershipLossCheckpointsTheSafePositionAndDropsInFlightWork(@TempDir Path dir) throws Exception {
        EventHubsPartitions handlers = partitions(dir, Duration.ofMinutes(1), TestPipeline.countedBatches(10, 4));
        handlers.onInitialize(new InitializationContext(P0));
        sink.hold(Records.requestId(30));
        handlers.onBatch(batch(P0, 0, 60));
        t.pipeline.flush();
        Eventually.await("the held batch at the sink", Duration.ofSeconds(10), () -> sink.heldBatches() == 1
                && t.pipeline.tracker().safePosition("0").map(p -> p.sequence() == 29).orElse(false));

        handlers.onClose(new CloseContext(P0, CloseReason.LOST_PARTITION_OWNERSHIP));
        assertThat(store.checkpoint("0").getSequenceNumber()).isEqualTo(29L);
        assertThat(t.pipeline.tracker().pending()).as("in-flight work of the lost partition forgotten").isZero();
        assertThat(handlers.ownedPartitions()).isEmpty();

        sink.releaseAll();
        Eventually.await("held batch acknowledged late", Duration.ofSeconds(10), () -> sink.distinct() == 60);
        handlers.writeAllCheckpoints();
        assertThat(store.checkpoint("0").getSequenceNumber()).as("nothing checkpointed after losing ownership")
                .isEqualTo(29L);
    }

    @Test
    void theHandlerNeverThrowsAndAFailedPartitionStopsTakingEvents(@TempDir Path dir) throws Exception {
        EventHubsPartitions handlers = partitions(dir, Duration.ofMinutes(1));
        handlers.onInitialize(new InitializationContext(P0));
        handlers.onBatch(batch(P0, 0, 10));
        t.pipeline.flush();
        Eventually.await("first batch settled", Duration.ofSeconds(10), () -> t.pipeline.tracker().pending() == 0);
        assertThat(handlers.ready()).isTrue();

        List<EventData> withoutSequence = new ArrayList<>(batch(P0, 10, 12).getEvents());
        withoutSequence.add(new EventData(Records.valid(12)));
        withoutSequence.addAll(batch(P0, 13, 15).getEvents());
        assertThatCode(() -> handlers.onBatch(new EventBatchContext(P0, withoutSequence, store, null)))
                .doesNotThrowAnyException();
        handlers.onBatch(batch(P0, 15, 20));
        t.pipeline.flush();
        Eventually.await("what came before the failure settled", Duration.ofSeconds(10),
                () -> t.pipeline.tracker().pending() == 0);

        assertThat(sink.distinct()).as("records 0-11 only").isEqualTo(12);
        assertThat(handlers.ready()).isFalse();
        handlers.writeAllCheckpoints();
        assertThat(store.checkpoint("0").getSequenceNumber()).isEqualTo(11L);

        // owned afresh (after a restart or a move), the partition takes events again
        handlers.onClose(new CloseContext(P0, CloseReason.LOST_PARTITION_OWNERSHIP));
        handlers.onInitialize(new InitializationContext(P0));
        handlers.onBatch(batch(P0, 12, 20));
        t.pipeline.flush();
        Eventually.await("redelivered events settled", Duration.ofSeconds(10), () -> sink.distinct() == 20);
    }

    @Test
    void aClosedCoreDoesNotMakeTheHandlerThrow(@TempDir Path dir) throws Exception {
        EventHubsPartitions handlers = partitions(dir, Duration.ofMinutes(1));
        handlers.onInitialize(new InitializationContext(P0));
        t.pipeline.close(Duration.ofSeconds(1));
        assertThatCode(() -> handlers.onBatch(batch(P0, 0, 5))).doesNotThrowAnyException();
        assertThat(handlers.ready()).isFalse();
    }

    @Test
    void readinessFollowsHeartbeatsAndProcessorErrors(@TempDir Path dir) throws Exception {
        EventHubsPartitions handlers = partitions(dir, Duration.ofMillis(300));
        handlers.onInitialize(new InitializationContext(P0));
        handlers.onBatch(new EventBatchContext(P0, List.of(), store, null));
        assertThat(handlers.ready()).as("an empty batch is a heartbeat").isTrue();

        Eventually.await("no heartbeat for longer than the timeout", Duration.ofSeconds(5), () -> !handlers.ready());
        handlers.onBatch(new EventBatchContext(P0, List.of(), store, null));
        assertThat(handlers.ready()).isTrue();

        handlers.onError(new ErrorContext(P0, new IllegalStateException("amqp:connection:forced")));
        assertThat(handlers.ready()).as("an error with no progress after it").isFalse();
        assertThat(handlers.lastError()).contains("partition 0").contains("amqp:connection:forced");
        handlers.onBatch(new EventBatchContext(P0, List.of(), store, null));
        assertThat(handlers.ready()).as("progress after the error").isTrue();
    }

    @Test
    void stoppingDropsNewEventsInsteadOfHandingThemOver(@TempDir Path dir) throws Exception {
        EventHubsPartitions handlers = partitions(dir, Duration.ofMinutes(1));
        handlers.onInitialize(new InitializationContext(P0));
        handlers.stopAccepting();
        handlers.onBatch(batch(P0, 0, 5));
        assertThat(t.pipeline.tracker().pending()).isZero();
        assertThat(sink.distinct()).isZero();
    }
}
