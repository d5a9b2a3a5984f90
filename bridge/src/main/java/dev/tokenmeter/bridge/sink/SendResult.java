package dev.tokenmeter.bridge.sink;

import java.time.Duration;

/** The outcome of sending one batch once. */
public sealed interface SendResult {

    /** Every event in the batch was acknowledged. */
    record Accepted() implements SendResult {
    }

    /**
     * The sink refused the batch as it is (OpenMeter's 400, or 413): resending it will not help. The core splits
     * the batch to find the events responsible; a single rejected event becomes a dead letter with this reason.
     */
    record Rejected(String reason) implements SendResult {
    }

    /**
     * It may work later (network error, 408, 429, 5xx...). {@code cause} is a short label for metrics
     * ({@code network}, {@code http_503}); {@code retryAfter} is the server's hint, or null.
     */
    record Retryable(String cause, String detail, Duration retryAfter) implements SendResult {
    }

    SendResult ACCEPTED = new Accepted();
}
