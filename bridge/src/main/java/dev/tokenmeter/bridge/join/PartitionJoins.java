package dev.tokenmeter.bridge.join;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The join for every partition a source feeds, each locked on its own so partitions proceed in parallel; with an
 * {@link LlmUsageIndex} (a backfill) records are decided at once against it instead of waiting. Returns decisions
 * for the caller to carry out in order.
 */
public final class PartitionJoins<P, C> {

    private final JoinSettings settings;
    private final JoinObserver observer;
    private final LlmUsageIndex index;
    private final Map<String, PartitionJoin<P, C>> partitions = new ConcurrentHashMap<>();

    public PartitionJoins(JoinSettings settings, JoinObserver observer, LlmUsageIndex index) {
        this.settings = settings;
        this.observer = observer;
        this.index = index;
    }

    public List<JoinDecision<P, C>> record(String partition, String canonicalId, P record, C claim, long timeMillis) {
        List<JoinDecision<P, C>> out = new ArrayList<>(3);
        if (index != null) {
            LlmUsage row = index.get(canonicalId);
            if (row != null && row.hasUsage()) {
                observer.joined(Math.abs(row.time().toEpochMilli() - timeMillis) / 1000.0);
                out.add(new JoinDecision.Joined<>(record, row, claim, null));
            } else {
                EstimateReason reason = row == null ? EstimateReason.NO_LLM_LOG : EstimateReason.LLM_LOG_WITHOUT_USAGE;
                observer.estimated(reason);
                out.add(new JoinDecision.Estimated<>(record, reason, claim));
            }
            out.add(new JoinDecision.Release<>(claim));
            other(partition, null, timeMillis, out);
            return out;
        }
        PartitionJoin<P, C> join = join(partition);
        synchronized (join) {
            join.record(canonicalId, record, claim, timeMillis, out);
        }
        return out;
    }

    public List<JoinDecision<P, C>> row(String partition, LlmUsage row, C claim, long timeMillis) {
        List<JoinDecision<P, C>> out = new ArrayList<>(3);
        PartitionJoin<P, C> join = join(partition);
        synchronized (join) {
            join.row(row, claim, timeMillis, out);
        }
        return out;
    }

    /**
     * Anything else on the partition moves its time on; {@code canonicalId} is a record that does not wait (null
     * for ticks and invalid messages), whose early row, if any, is let go. {@code timeMillis} may be
     * {@code Long.MIN_VALUE} when the message has no time.
     */
    public List<JoinDecision<P, C>> other(String partition, String canonicalId, long timeMillis) {
        List<JoinDecision<P, C>> out = new ArrayList<>(0);
        other(partition, canonicalId, timeMillis, out);
        return out;
    }

    private void other(String partition, String canonicalId, long timeMillis, List<JoinDecision<P, C>> out) {
        PartitionJoin<P, C> join = join(partition);
        synchronized (join) {
            if (canonicalId != null) {
                join.notWaiting(canonicalId, timeMillis, out);
            } else {
                join.other(timeMillis, out);
            }
        }
    }

    /** The partition's input is over (a file): decide what it holds. */
    public List<JoinDecision<P, C>> end(String partition) {
        List<JoinDecision<P, C>> out = new ArrayList<>();
        PartitionJoin<P, C> join = partitions.remove(partition);
        if (join != null) {
            synchronized (join) {
                join.end(out);
            }
        }
        return out;
    }

    /** Every partition's input is over. */
    public List<JoinDecision<P, C>> endAll() {
        List<JoinDecision<P, C>> out = new ArrayList<>();
        for (String partition : List.copyOf(partitions.keySet())) {
            out.addAll(end(partition));
        }
        return out;
    }

    /** The partition is no longer ours: drop what it holds, decide nothing. */
    public void forget(String partition) {
        PartitionJoin<P, C> join = partitions.remove(partition);
        if (join != null) {
            synchronized (join) {
                join.abandon();
            }
        }
    }

    /** Records and rows held over all partitions. */
    public long held() {
        long held = 0;
        for (PartitionJoin<P, C> join : partitions.values()) {
            synchronized (join) {
                held += join.held();
            }
        }
        return held;
    }

    /** Seconds from the oldest partition watermark to {@code nowMillis}; 0 before any message. */
    public double watermarkLagSeconds(long nowMillis) {
        long oldest = Long.MAX_VALUE;
        for (PartitionJoin<P, C> join : partitions.values()) {
            synchronized (join) {
                if (join.watermarkMillis() != Long.MIN_VALUE) {
                    oldest = Math.min(oldest, join.watermarkMillis());
                }
            }
        }
        return oldest == Long.MAX_VALUE ? 0 : Math.max(0, nowMillis - oldest) / 1000.0;
    }

    public JoinSettings settings() {
        return settings;
    }

    private PartitionJoin<P, C> join(String partition) {
        return partitions.computeIfAbsent(partition, p -> new PartitionJoin<>(settings, observer));
    }
}
