package dev.tokenmeter.bridge.pipeline;

import java.time.Duration;

/**
 * Limits of the core. Memory held is bounded by roughly {@code (maxInFlightBatches + 1) * maxBatchBytes} of events,
 * because a source blocks in {@code submit} while every send slot is taken (backpressure, never a growing queue).
 */
public record PipelineSettings(
        int maxBatchEvents,
        int maxBatchBytes,
        Duration linger,
        int maxInFlightBatches,
        Duration initialBackoff,
        Duration maxBackoff) {

    public static PipelineSettings defaults() {
        return new PipelineSettings(500, 1024 * 1024, Duration.ofMillis(500), 4,
                Duration.ofMillis(200), Duration.ofSeconds(30));
    }

    public PipelineSettings {
        if (maxBatchEvents < 1 || maxBatchBytes < 1024 || maxInFlightBatches < 1) {
            throw new IllegalArgumentException("batch limits must be positive (events >= 1, bytes >= 1024, in flight >= 1)");
        }
        if (linger.isNegative() || linger.isZero() || initialBackoff.isNegative() || maxBackoff.compareTo(initialBackoff) < 0) {
            throw new IllegalArgumentException("linger must be positive and max backoff >= initial backoff");
        }
    }
}
