package dev.tokenmeter.bridge.join;

import java.time.Duration;

/**
 * How the bridge joins streamed usage records with APIM's LLM log.
 *
 * @param enabled    off: every record is billed as it arrives, estimates included
 * @param window     W: how far a partition's watermark must pass a waiting record's enqueued time before it is billed
 *                   with its estimate
 * @param lateWindow how much longer an estimate is remembered, so a row that comes after W still corrects it
 * @param maxPending readiness turns red beyond this many records and rows held (memory, not a decision input)
 */
public record JoinSettings(boolean enabled, Duration window, Duration lateWindow, long maxPending) {

    public static final Duration DEFAULT_WINDOW = Duration.ofMinutes(20);
    public static final Duration DEFAULT_LATE_WINDOW = Duration.ofMinutes(10);
    public static final long DEFAULT_MAX_PENDING = 2_000_000;

    public JoinSettings {
        if (window.isNegative() || lateWindow.isNegative()) {
            throw new IllegalArgumentException("join windows cannot be negative");
        }
        if (maxPending < 1) {
            throw new IllegalArgumentException("the pending limit must be at least 1");
        }
    }

    public static JoinSettings off() {
        return new JoinSettings(false, DEFAULT_WINDOW, DEFAULT_LATE_WINDOW, DEFAULT_MAX_PENDING);
    }

    public static JoinSettings defaults() {
        return new JoinSettings(true, DEFAULT_WINDOW, DEFAULT_LATE_WINDOW, DEFAULT_MAX_PENDING);
    }
}
