package dev.tokenmeter.bridge.mapping;

import dev.tokenmeter.bridge.join.EstimateReason;
import dev.tokenmeter.bridge.join.LlmUsage;
import dev.tokenmeter.usage.UsageRecord;

/**
 * What the bridge bills for one request: the record with the counts to bill, the id its events are derived from,
 * and how the counts were established ({@code usage_source} in the events).
 *
 * @param estimateReason why an estimate was billed although exact usage was expected; null otherwise
 */
public record Billable(UsageRecord record, String idBase, Basis basis, EstimateReason estimateReason) {

    /** How the billed counts were established. */
    public enum Basis {
        /** From the response's own usage object (non-streamed JSON responses). */
        REPORTED("reported"),
        /** The gateway's estimate (a streamed response whose exact usage never came, or was not expected). */
        ESTIMATED("estimated"),
        /** No counts (errors). */
        NONE("none"),
        /** APIM's LLM log's exact counts, joined on the request id. */
        JOINED("joined"),
        /** What a late LLM log row added to an estimate already billed. */
        LATE_CORRECTION("late_correction");

        private final String label;

        Basis(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /** The suffix of a correction's event id: {@code <request id>:late}, never colliding with the original. */
    public static final String LATE_SUFFIX = ":late";

    /** The record billed as the policies wrote it. */
    public static Billable asRecorded(UsageRecord r) {
        Basis basis = switch (r.usageSource()) {
            case "reported" -> Basis.REPORTED;
            case "estimated" -> Basis.ESTIMATED;
            default -> Basis.NONE;
        };
        return new Billable(r, r.requestId(), basis, null);
    }

    public static Billable estimated(UsageRecord r, EstimateReason reason) {
        return new Billable(r, r.requestId(), Basis.ESTIMATED, reason);
    }

    /** The record with the LLM log's counts and model (the deployment's model name when the log has none). */
    public static Billable joined(UsageRecord r, LlmUsage row) {
        return new Billable(exact(r, row), r.requestId(), Basis.JOINED, null);
    }

    /**
     * The positive difference, per token type, between what the LLM log counted and the estimate already billed;
     * null when the log adds nothing. Where the estimate was higher nothing is refunded ({@link #clampedTokens}).
     */
    public static Billable lateCorrection(UsageRecord estimate, LlmUsage row) {
        long[] d = difference(estimate, exact(estimate, row));
        long input = Math.max(0, d[0]), output = Math.max(0, d[1]), cacheRead = Math.max(0, d[2]),
                reasoning = Math.max(0, d[3]);
        if (input + output + cacheRead + reasoning == 0) {
            return null;
        }
        long prompt = input + cacheRead, completion = output + reasoning;
        UsageRecord correction = estimate.withUsage(row.model() != null ? row.model() : estimate.model(), prompt,
                completion, prompt + completion, cacheRead, reasoning);
        return new Billable(correction, estimate.requestId() + LATE_SUFFIX, Basis.LATE_CORRECTION, null);
    }

    /** Tokens the estimate billed beyond the exact count, per token type, summed: billed once, never refunded. */
    public static long clampedTokens(UsageRecord estimate, LlmUsage row) {
        long clamped = 0;
        for (long part : difference(estimate, exact(estimate, row))) {
            clamped += Math.max(0, -part);
        }
        return clamped;
    }

    private static UsageRecord exact(UsageRecord r, LlmUsage row) {
        long prompt = row.promptTokens(), completion = row.completionTokens();
        long total = row.totalTokens() > 0 ? row.totalTokens() : prompt + completion;
        long cached = Math.min(row.cachedTokens() == null ? 0 : row.cachedTokens(), prompt);
        // the LLM log has no reasoning count; a streamed record's own is an estimate of zero
        long reasoning = Math.min(r.reasoningTokens(), completion);
        return r.withUsage(row.model() != null ? row.model() : r.model(), prompt, completion, total, cached, reasoning);
    }

    /** exact minus estimate for input (uncached prompt), output (non-reasoning completion), cache_read, reasoning. */
    private static long[] difference(UsageRecord estimate, UsageRecord exact) {
        return new long[]{
                (exact.promptTokens() - exact.cachedTokens()) - (estimate.promptTokens() - estimate.cachedTokens()),
                (exact.completionTokens() - exact.reasoningTokens())
                        - (estimate.completionTokens() - estimate.reasoningTokens()),
                exact.cachedTokens() - estimate.cachedTokens(),
                exact.reasoningTokens() - estimate.reasoningTokens()};
    }
}
