package dev.tokenmeter.bridge.source.eventhubs;

import com.azure.messaging.eventhubs.CheckpointStore;
import com.azure.messaging.eventhubs.EventData;
import com.azure.messaging.eventhubs.models.Checkpoint;
import com.azure.messaging.eventhubs.models.CloseContext;
import com.azure.messaging.eventhubs.models.CloseReason;
import com.azure.messaging.eventhubs.models.ErrorContext;
import com.azure.messaging.eventhubs.models.EventBatchContext;
import com.azure.messaging.eventhubs.models.InitializationContext;
import com.azure.messaging.eventhubs.models.PartitionContext;
import dev.tokenmeter.bridge.pipeline.Intake;
import dev.tokenmeter.bridge.pipeline.Position;
import dev.tokenmeter.bridge.pipeline.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The event processor's callbacks and what the source knows per owned partition. The batch handler hands events
 * to the core and never throws (a throw would close the partition and stall it until its ownership expires).
 * Checkpoints are written from the core's safe positions only, at most once per interval per partition
 * ({@link #writeDueCheckpoints}), and once more when a partition closes; then the core forgets the partition's
 * in-flight records, so nothing past an unacknowledged event is checkpointed by this instance.
 */
public final class EventHubsPartitions {

    private static final Logger LOG = LoggerFactory.getLogger(EventHubsPartitions.class);
    private static final Duration ERROR_WINDOW = Duration.ofSeconds(60);
    private static final Duration STORE_TIMEOUT = Duration.ofSeconds(30);

    private final Intake pipeline;
    private final CheckpointStore store;
    private final Duration checkpointInterval;
    private final Duration heartbeatTimeout;
    private final Map<String, PartitionState> partitions = new ConcurrentHashMap<>();
    private final long createdNanos = System.nanoTime();
    private volatile boolean accepting = true;
    private volatile long lastErrorNanos;
    private volatile long lastActivityNanos;
    private volatile String lastError;

    /**
     * @param heartbeatTimeout an owned partition that has delivered no batch (not even an empty one, which the
     *                         processor sends after its max wait time) for this long is not making progress
     */
    public EventHubsPartitions(Intake pipeline, CheckpointStore store, Duration checkpointInterval,
                               Duration heartbeatTimeout) {
        this.pipeline = pipeline;
        this.store = store;
        this.checkpointInterval = checkpointInterval;
        this.heartbeatTimeout = heartbeatTimeout;
    }

    public void onInitialize(InitializationContext context) {
        PartitionContext pc = context.getPartitionContext();
        // anything still tracked from an earlier ownership of this partition is stale
        pipeline.forget(pc.getPartitionId());
        partitions.put(pc.getPartitionId(), new PartitionState(pc));
        LOG.info("owning partition {} of {}", pc.getPartitionId(), pc.getEventHubName());
    }

    public void onBatch(EventBatchContext context) {
        String partitionId = context.getPartitionContext().getPartitionId();
        PartitionState state = partitions.computeIfAbsent(partitionId,
                id -> new PartitionState(context.getPartitionContext()));
        long now = System.nanoTime();
        state.lastActivityNanos = now;
        lastActivityNanos = now;
        if (!accepting || state.broken) {
            return;
        }
        List<EventData> events = context.getEvents();
        try {
            for (EventData event : events) {
                Long sequence = event.getSequenceNumber();
                if (sequence == null) {
                    throw new IllegalStateException("event without sequence number");
                }
                pipeline.submit(new SourceRecord(partitionId, new Position(sequence, event.getOffsetString()),
                        event.getBody(), event.getEnqueuedTime()));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            markBroken(state, "interrupted while handing events to the core", e);
        } catch (RuntimeException | Error e) {
            markBroken(state, "handing events to the core failed", e);
        }
    }

    /**
     * Events from the failed one on were not handed over. Handing over later batches would let safe positions
     * jump past them, so this ownership of the partition takes no more events (and reports not ready); what was
     * handed over before still settles and is checkpointed. The next owner, or this instance after a restart,
     * resumes from that checkpoint.
     */
    private void markBroken(PartitionState state, String what, Throwable e) {
        if (!accepting) {
            return;
        }
        state.broken = true;
        LOG.error("partition {}: {}; it takes no more events until it is owned afresh", state.context.getPartitionId(),
                what, e);
    }

    public void onClose(CloseContext context) {
        String partitionId = context.getPartitionContext().getPartitionId();
        PartitionState state = partitions.remove(partitionId);
        if (state != null) {
            // the safe position is safe whoever owns the partition now; writing it spares the next owner duplicates
            writeCheckpoint(state);
        }
        pipeline.forget(partitionId);
        if (context.getCloseReason() == CloseReason.LOST_PARTITION_OWNERSHIP) {
            LOG.info("lost ownership of partition {}; its unacknowledged events go to the next owner", partitionId);
        } else {
            LOG.info("closed partition {} ({})", partitionId, context.getCloseReason());
        }
    }

    public void onError(ErrorContext context) {
        lastErrorNanos = System.nanoTime();
        PartitionContext pc = context.getPartitionContext();
        lastError = (pc != null && pc.getPartitionId() != null ? "partition " + pc.getPartitionId() + ": " : "")
                + context.getThrowable();
        LOG.warn("event processor error: {}", lastError);
    }

    /** Called by the core when a partition's safe position advances; quick, never blocks on storage. */
    public void safeToCheckpoint(String partition, Position position) {
        PartitionState state = partitions.get(partition);
        if (state == null) {
            return;
        }
        synchronized (state) {
            if (state.safe == null || position.sequence() > state.safe.sequence()) {
                state.safe = position;
            }
        }
    }

    /** Writes the checkpoints whose interval has passed; the source calls it on a timer. */
    public void writeDueCheckpoints() {
        long now = System.nanoTime();
        for (PartitionState state : partitions.values()) {
            if (now - state.lastWriteNanos >= checkpointInterval.toNanos()) {
                writeCheckpoint(state);
            }
        }
    }

    /** Writes every owned partition's safe position now (before stopping the processor). */
    public void writeAllCheckpoints() {
        for (PartitionState state : partitions.values()) {
            writeCheckpoint(state);
        }
    }

    /** From now on events are dropped, not handed over: the source is stopping and will not checkpoint them. */
    public void stopAccepting() {
        accepting = false;
    }

    private void writeCheckpoint(PartitionState state) {
        Position safe;
        synchronized (state) {
            safe = state.safe;
            if (safe == null || state.written != null && safe.sequence() <= state.written.sequence()) {
                return;
            }
        }
        PartitionContext pc = state.context;
        // lowercase, as the event processor names its blobs when it reads checkpoints, and as KEDA's blobMetadata
        // strategy looks them up: the store itself writes names as given
        Checkpoint checkpoint = new Checkpoint()
                .setFullyQualifiedNamespace(pc.getFullyQualifiedNamespace().toLowerCase(Locale.ROOT))
                .setEventHubName(pc.getEventHubName().toLowerCase(Locale.ROOT))
                .setConsumerGroup(pc.getConsumerGroup().toLowerCase(Locale.ROOT))
                .setPartitionId(pc.getPartitionId())
                .setSequenceNumber(safe.sequence())
                .setOffsetString(safe.offset());
        try {
            store.updateCheckpoint(checkpoint).block(STORE_TIMEOUT);
            synchronized (state) {
                state.written = safe;
                state.lastWriteNanos = System.nanoTime();
            }
        } catch (RuntimeException e) {
            LOG.warn("checkpoint of partition {} at {} failed, retrying later: {}", pc.getPartitionId(), safe, e.toString());
        }
    }

    /**
     * Ready when every owned partition has delivered a batch (events or an empty heartbeat) recently, no partition's
     * handler failed, and the processor reported no error in the last minute unless events or heartbeats came after
     * it. With no partition owned (more replicas than partitions) the instance is ready once it has run a minute
     * without errors: the load balancer reports storage and connection failures as processor errors.
     */
    public boolean ready() {
        long now = System.nanoTime();
        long errorAt = lastErrorNanos;
        boolean recentError = errorAt != 0 && now - errorAt < ERROR_WINDOW.toNanos() && lastActivityNanos - errorAt < 0;
        if (recentError) {
            return false;
        }
        if (partitions.isEmpty()) {
            return now - createdNanos >= ERROR_WINDOW.toNanos();
        }
        for (PartitionState state : partitions.values()) {
            if (state.broken || now - state.lastActivityNanos > heartbeatTimeout.toNanos()) {
                return false;
            }
        }
        return true;
    }

    public String lastError() {
        return lastError;
    }

    /** The safe position last written as a checkpoint for an owned partition, if any. */
    public Position writtenCheckpoint(String partition) {
        PartitionState state = partitions.get(partition);
        if (state == null) {
            return null;
        }
        synchronized (state) {
            return state.written;
        }
    }

    public Set<String> ownedPartitions() {
        return Set.copyOf(partitions.keySet());
    }

    private static final class PartitionState {
        final PartitionContext context;
        volatile long lastActivityNanos = System.nanoTime();
        volatile boolean broken;
        Position safe;
        Position written;
        long lastWriteNanos = System.nanoTime();

        PartitionState(PartitionContext context) {
            this.context = context;
        }
    }
}
