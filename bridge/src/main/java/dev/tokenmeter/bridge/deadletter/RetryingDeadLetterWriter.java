package dev.tokenmeter.bridge.deadletter;

import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeException;
import dev.failsafe.RetryPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;

/**
 * Writes dead letters, retrying a failing store (a full disk, a lost mount) for as long as it takes: a record only
 * settles once its dead letter is durable, so giving up would mean checkpointing past something that was kept
 * nowhere. Shared by the pipeline and the re-key stage.
 */
public final class RetryingDeadLetterWriter {

    private static final Logger LOG = LoggerFactory.getLogger(RetryingDeadLetterWriter.class);

    private final DeadLetterStore store;
    private final RetryPolicy<Object> retry;

    public RetryingDeadLetterWriter(DeadLetterStore store, Duration initialBackoff, Duration maxBackoff) {
        this.store = store;
        this.retry = RetryPolicy.builder()
                .handle(IOException.class)
                .withBackoff(initialBackoff, maxBackoff)
                .withMaxRetries(-1)
                .onRetry(event -> LOG.error("cannot write dead letter, retrying (attempt {}): {}",
                        event.getAttemptCount(), String.valueOf(event.getLastException())))
                .build();
    }

    public void write(DeadLetter letter) throws InterruptedException {
        writeAll(java.util.List.of(letter));
    }

    /** Writes all of them with one flush where the store can ({@link DeadLetterStore#writeAll}), retried as one. */
    public void writeAll(java.util.List<DeadLetter> letters) throws InterruptedException {
        try {
            Failsafe.with(retry).run(() -> store.writeAll(letters));
        } catch (FailsafeException e) {
            if (e.getCause() instanceof InterruptedException interrupted) {
                throw interrupted;
            }
            throw e;
        }
    }
}
