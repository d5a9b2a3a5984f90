package dev.tokenmeter.bridge.join;

import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Joins one partition's streamed usage records with the LLM log rows the re-key stage puts on the same partition.
 *
 * <p>Every decision is a function of the partition's log alone: time is the partition's watermark (the highest
 * enqueued time seen, never the wall clock), and whatever might still change a decision keeps its claim on the
 * source position held, so no checkpoint passes it. A replay from any safe checkpoint therefore reads everything
 * that mattered again and decides the same way, producing the same bytes, which OpenMeter de-duplicates. (The one
 * assumption: enqueued times within a partition are never out of order by more than the window; Event Hubs assigns
 * them in order.)
 *
 * <ul>
 *   <li>A record arrives: if its row came first, bill the row's counts; otherwise it waits until its row arrives
 *   or the watermark passes its time + W, then it is billed with its estimate and remembered for the late window.
 *   <li>A row arrives: a waiting record is joined; a remembered estimate is corrected once; a row nobody waits for
 *   waits itself, up to W, for its record (rows can overtake records); duplicates, conflicts and rows of
 *   non-streamed requests bill nothing.
 * </ul>
 *
 * <p>Not thread-safe: one partition is fed by one thread at a time (the pipeline locks it).
 *
 * @param <P> the waiting record as the pipeline keeps it
 * @param <C> the pipeline's claim on source positions
 */
public final class PartitionJoin<P, C> {

    private enum Kind { WAITING, EARLY_ROW, REMEMBERED }

    private static final class Held<P, C> {
        final String id;
        final P record;
        final LlmUsage row;
        final C claim;
        final long timeMillis;
        Kind kind;
        long deadlineMillis;
        long sequence;
        boolean done;

        Held(Kind kind, String id, P record, LlmUsage row, C claim, long timeMillis) {
            this.kind = kind;
            this.id = id;
            this.record = record;
            this.row = row;
            this.claim = claim;
            this.timeMillis = timeMillis;
        }
    }

    private final long windowMillis;
    private final long lateWindowMillis;
    private final JoinObserver observer;
    private final Map<String, Held<P, C>> records = new HashMap<>();
    private final Map<String, Held<P, C>> earlyRows = new HashMap<>();
    private final PriorityQueue<Held<P, C>> deadlines = new PriorityQueue<>(
            Comparator.<Held<P, C>>comparingLong(h -> h.deadlineMillis).thenComparingLong(h -> h.sequence));
    private long watermarkMillis = Long.MIN_VALUE;
    private long sequence;
    private boolean ended;

    public PartitionJoin(JoinSettings settings, JoinObserver observer) {
        this.windowMillis = settings.window().toMillis();
        this.lateWindowMillis = settings.lateWindow().toMillis();
        this.observer = observer;
    }

    /** A record that expects exact usage; {@code id} is its canonical request id. */
    public void record(String id, P record, C claim, long timeMillis, List<JoinDecision<P, C>> out) {
        advance(timeMillis);
        Held<P, C> row = earlyRows.remove(id);
        if (row != null) {
            row.done = true;
            decideWithRow(new Held<>(Kind.WAITING, id, record, null, claim, timeMillis), row.row, row.claim, true, out);
        } else if (records.containsKey(id)) {
            // the same request's record again (a redelivery upstream): the first one bills, with the same event id
            out.add(new JoinDecision.Release<>(claim));
        } else {
            hold(new Held<>(Kind.WAITING, id, record, null, claim, timeMillis), records,
                    saturatedAdd(timeMillis, windowMillis));
        }
        expire(out);
    }

    /** A row from the LLM log, as the re-key stage republished it. */
    public void row(LlmUsage row, C claim, long timeMillis, List<JoinDecision<P, C>> out) {
        advance(timeMillis);
        String id = row.correlationId();
        Held<P, C> held = records.get(id);
        if (held != null && held.kind == Kind.WAITING) {
            records.remove(id);
            held.done = true;
            decideWithRow(held, row, claim, false, out);
        } else if (held != null) {
            // an estimate already went out; a row with counts corrects it once, anything after that is a repeat
            records.remove(id);
            held.done = true;
            if (row.hasUsage()) {
                out.add(new JoinDecision.Corrected<>(held.record, row, held.claim));
            } else {
                observer.row(JoinObserver.RowOutcome.DUPLICATE);
            }
            out.add(new JoinDecision.Release<>(held.claim));
            out.add(new JoinDecision.Release<>(claim));
        } else if (earlyRows.containsKey(id)) {
            LlmUsage first = earlyRows.get(id).row;
            observer.row(sameCounts(first, row) ? JoinObserver.RowOutcome.DUPLICATE : JoinObserver.RowOutcome.CONFLICT);
            out.add(new JoinDecision.Release<>(claim));
        } else if (Boolean.FALSE.equals(row.stream())) {
            observer.row(JoinObserver.RowOutcome.NON_STREAM);
            out.add(new JoinDecision.Release<>(claim));
        } else {
            hold(new Held<>(Kind.EARLY_ROW, id, null, row, claim, timeMillis), earlyRows,
                    saturatedAdd(timeMillis, windowMillis));
        }
        expire(out);
    }

    /** Anything else on the partition (a tick, a non-streamed record, an invalid message): it only moves time on. */
    public void other(long timeMillis, List<JoinDecision<P, C>> out) {
        advance(timeMillis);
        expire(out);
    }

    /**
     * A record that does not wait (not streamed, or nothing to join): a row that came ahead of it for the same id
     * has nothing to wait for any more.
     */
    public void notWaiting(String id, long timeMillis, List<JoinDecision<P, C>> out) {
        Held<P, C> row = earlyRows.remove(id);
        if (row != null) {
            row.done = true;
            observer.row(JoinObserver.RowOutcome.NON_STREAM);
            out.add(new JoinDecision.Release<>(row.claim));
        }
        other(timeMillis, out);
    }

    /** The input is over (file mode): decide everything still open as if the window had passed, and let go. */
    public void end(List<JoinDecision<P, C>> out) {
        ended = true;
        watermarkMillis = Long.MAX_VALUE;
        expire(out);
        // estimates remembered with a saturated deadline cannot be corrected any more either
        for (Held<P, C> held : deadlines) {
            if (!held.done) {
                held.done = true;
                out.add(new JoinDecision.Release<>(held.claim));
            }
        }
        deadlines.clear();
        records.clear();
        earlyRows.clear();
    }

    /** Records and rows held, for the memory limit and the pending gauge. */
    public int held() {
        return records.size() + earlyRows.size();
    }

    /** The highest enqueued time seen, epoch milliseconds; {@code Long.MIN_VALUE} before the first message. */
    public long watermarkMillis() {
        return watermarkMillis;
    }

    /** Drops everything held without deciding it (the partition was revoked): the claims are simply never settled. */
    public void abandon() {
        records.clear();
        earlyRows.clear();
        deadlines.clear();
    }

    private void decideWithRow(Held<P, C> waiting, LlmUsage row, C rowClaim, boolean rowFirst,
                               List<JoinDecision<P, C>> out) {
        if (row.hasUsage()) {
            observer.joined(Math.abs(waiting.timeMillis - row.time().toEpochMilli()) / 1000.0);
            out.add(new JoinDecision.Joined<>(waiting.record, row, waiting.claim, rowClaim));
            out.add(new JoinDecision.Release<>(waiting.claim));
        } else {
            observer.estimated(EstimateReason.LLM_LOG_WITHOUT_USAGE);
            out.add(new JoinDecision.Estimated<>(waiting.record, EstimateReason.LLM_LOG_WITHOUT_USAGE, waiting.claim));
            remember(waiting, out);
        }
        out.add(new JoinDecision.Release<>(rowClaim, rowFirst ? waiting.claim : null));
    }

    private void remember(Held<P, C> estimated, List<JoinDecision<P, C>> out) {
        if (lateWindowMillis == 0 || ended) {
            out.add(new JoinDecision.Release<>(estimated.claim));
            return;
        }
        Held<P, C> remembered = new Held<>(Kind.REMEMBERED, estimated.id, estimated.record, null, estimated.claim,
                estimated.timeMillis);
        hold(remembered, records, saturatedAdd(estimated.timeMillis, windowMillis + lateWindowMillis));
    }

    private void hold(Held<P, C> held, Map<String, Held<P, C>> index, long deadlineMillis) {
        held.deadlineMillis = deadlineMillis;
        held.sequence = sequence++;
        index.put(held.id, held);
        deadlines.add(held);
    }

    private void advance(long timeMillis) {
        if (timeMillis > watermarkMillis) {
            watermarkMillis = timeMillis;
        }
    }

    private void expire(List<JoinDecision<P, C>> out) {
        while (!deadlines.isEmpty() && deadlines.peek().deadlineMillis < watermarkMillis) {
            Held<P, C> held = deadlines.poll();
            if (held.done) {
                continue;
            }
            held.done = true;
            switch (held.kind) {
                case WAITING -> {
                    records.remove(held.id);
                    observer.estimated(EstimateReason.NO_LLM_LOG);
                    out.add(new JoinDecision.Estimated<>(held.record, EstimateReason.NO_LLM_LOG, held.claim));
                    remember(held, out);
                }
                case EARLY_ROW -> {
                    earlyRows.remove(held.id);
                    observer.row(JoinObserver.RowOutcome.ORPHAN);
                    out.add(new JoinDecision.Release<>(held.claim));
                }
                case REMEMBERED -> {
                    records.remove(held.id);
                    out.add(new JoinDecision.Release<>(held.claim));
                }
            }
        }
    }

    private static boolean sameCounts(LlmUsage a, LlmUsage b) {
        return a.promptTokens() == b.promptTokens() && a.completionTokens() == b.completionTokens()
                && a.totalTokens() == b.totalTokens() && java.util.Objects.equals(a.cachedTokens(), b.cachedTokens());
    }

    private static long saturatedAdd(long a, long b) {
        long sum = a + b;
        return ((a ^ sum) & (b ^ sum)) < 0 ? Long.MAX_VALUE : sum;
    }
}
