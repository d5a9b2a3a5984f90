package dev.tokenmeter.cli.reconcile;

/**
 * Tokens (prompt plus completion) OpenMeter holds for one slot. {@code exact}: counts the service reported or APIM's
 * LLM log gave ({@code usage_source} reported, joined); {@code estimated}: the gateway's estimates and the late
 * corrections made to them (estimated, late_correction). Both are null with the per-token-type mapping, whose events
 * do not say how their counts were established.
 */
public record Billed(long total, Long exact, Long estimated) {

    public static final Billed NONE = new Billed(0, 0L, 0L);
    public static final Billed UNSPLIT_NONE = new Billed(0, null, null);

    Billed plus(Billed o) {
        return new Billed(total + o.total, exact == null || o.exact == null ? null : exact + o.exact,
                estimated == null || o.estimated == null ? null : estimated + o.estimated);
    }
}
