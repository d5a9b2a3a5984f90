package dev.tokenmeter.cli.reconcile;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * Compares the three counts slot by slot. Azure OpenAI's own count is the reference: the bill should hold what the
 * service processed, no less (a gap: lost or unbilled usage) and no more (over: counted twice, or billed from an
 * estimate above the truth). A slot is judged only once it has settled: metrics and the bridge's join arrive late.
 */
public final class Reconciliation {

    /** How a slot compares. */
    public enum Status {
        /** Billed within the tolerance of what Azure OpenAI counted. */
        ok,
        /** Less billed than Azure OpenAI processed, beyond the tolerance. */
        gap,
        /** More billed than Azure OpenAI processed, beyond the tolerance. */
        over,
        /** Too recent to judge: metrics, logs or the bridge's join may still be on their way. */
        recent
    }

    /** One slot's counts and verdict; {@code missing} = Azure − billed (negative when more was billed). */
    public record Row(Slot slot, long azure, long gateway, Billed billed, long missing, BigDecimal coverage,
                      Status status) {
    }

    /** Every slot in order, and the sums over them. */
    public record Result(List<Row> rows, long azure, long gateway, Billed billed, BigDecimal tolerancePercent,
                         Instant settledBefore) {
        public boolean beyondTolerance() {
            return rows.stream().anyMatch(r -> r.status() == Status.gap || r.status() == Status.over);
        }

        public long flagged() {
            return rows.stream().filter(r -> r.status() == Status.gap || r.status() == Status.over).count();
        }

        public long missing() {
            return azure - billed.total();
        }
    }

    private Reconciliation() {
    }

    /**
     * @param tolerancePercent how far billed may be from Azure's count, in percent of Azure's count
     * @param settledBefore    slots whose hour ends after this instant are reported as recent, not judged
     */
    public static Result compare(Counts counts, BigDecimal tolerancePercent, Instant settledBefore) {
        TreeSet<Slot> slots = new TreeSet<>();
        slots.addAll(counts.azure().keySet());
        slots.addAll(counts.gateway().keySet());
        slots.addAll(counts.billed().keySet());
        List<Row> rows = new ArrayList<>();
        long azureSum = 0;
        long gatewaySum = 0;
        Billed nothing = counts.billedSplit() ? Billed.NONE : Billed.UNSPLIT_NONE;
        Billed billedSum = nothing;
        for (Slot slot : slots) {
            long azure = counts.azure().getOrDefault(slot, 0L);
            long gateway = counts.gateway().getOrDefault(slot, 0L);
            Billed billed = counts.billed().getOrDefault(slot, nothing);
            long missing = azure - billed.total();
            BigDecimal coverage = azure == 0 ? null
                    : BigDecimal.valueOf(billed.total()).multiply(BigDecimal.valueOf(100))
                    .divide(BigDecimal.valueOf(azure), 1, RoundingMode.HALF_UP);
            rows.add(new Row(slot, azure, gateway, billed, missing, coverage,
                    status(slot, azure, missing, tolerancePercent, settledBefore)));
            azureSum += azure;
            gatewaySum += gateway;
            billedSum = billedSum.plus(billed);
        }
        return new Result(List.copyOf(rows), azureSum, gatewaySum, billedSum, tolerancePercent, settledBefore);
    }

    private static Status status(Slot slot, long azure, long missing, BigDecimal tolerancePercent, Instant settledBefore) {
        if (slot.hour().plus(Duration.ofHours(1)).isAfter(settledBefore)) {
            return Status.recent;
        }
        // |missing| * 100 > tolerance * azure, in exact arithmetic: no rounding decides a verdict
        BigDecimal allowed = tolerancePercent.multiply(BigDecimal.valueOf(azure));
        BigDecimal off = BigDecimal.valueOf(Math.abs(missing)).multiply(BigDecimal.valueOf(100));
        if (off.compareTo(allowed) <= 0) {
            return Status.ok;
        }
        return missing > 0 ? Status.gap : Status.over;
    }
}
