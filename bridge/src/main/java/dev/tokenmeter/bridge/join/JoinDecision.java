package dev.tokenmeter.bridge.join;

/**
 * What the join tells the pipeline to do. {@code P} is the waiting record as the pipeline handed it over, {@code C}
 * its claim on the source positions involved. Every claim given to the join is held by it until a {@link Release};
 * the decisions that bill take their own hold on the claims they name first, so a position is settled only after
 * the join is done with it and every event billed for it is acknowledged.
 */
public sealed interface JoinDecision<P, C> {

    /**
     * The record's row arrived: bill the row's exact counts. The bill holds the row's claim too: a row that came
     * ahead of its record must not be checkpointed past before the joined event is acknowledged.
     */
    record Joined<P, C>(P record, LlmUsage row, C claim, C rowClaim) implements JoinDecision<P, C> {
    }

    /** No usable row within the window: bill the record's estimate, saying why. */
    record Estimated<P, C>(P record, EstimateReason reason, C claim) implements JoinDecision<P, C> {
    }

    /** A row came after the estimate went out but while it was remembered: bill the positive difference. */
    record Corrected<P, C>(P record, LlmUsage row, C claim) implements JoinDecision<P, C> {
    }

    /**
     * The join no longer needs this claim; when {@code notWithout} is set, the position may be checkpointed past
     * only together with that claim's (a row that came ahead of its record is skipped only with the record).
     */
    record Release<P, C>(C claim, C notWithout) implements JoinDecision<P, C> {
        public Release(C claim) {
            this(claim, null);
        }
    }
}
