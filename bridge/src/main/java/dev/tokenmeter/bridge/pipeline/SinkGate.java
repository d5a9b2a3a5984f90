package dev.tokenmeter.bridge.pipeline;

import java.time.Duration;

/**
 * Decides when a send may go to the sink, for all batches together. While the sink is healthy every send goes at
 * once. While it is failing, each retrying batch waits for its own backoff, but one send per probe interval goes
 * ahead as a probe, and the first success lets every waiting batch go at once: delivery resumes within a probe
 * interval of the sink's return, not after the longest backoff. A {@code Retry-After} pauses every send, new ones
 * included, until it has passed.
 */
final class SinkGate {

    private final long probeIntervalNanos;
    private boolean failing;
    // nanoTime values are compared by difference only (they may be negative and wrap)
    private long pausedUntilNanos = System.nanoTime();
    private boolean probed;
    private long lastProbeNanos;

    SinkGate(Duration probeInterval) {
        this.probeIntervalNanos = probeInterval.toNanos();
    }

    /**
     * Waits until this send may go: its own backoff has passed ({@code ownTurnNanos}; {@code Long.MAX_VALUE} for a
     * first attempt, which waits for the sink to recover), or it is the next probe, or the sink is healthy again.
     */
    synchronized void awaitTurn(long ownTurnNanos) throws InterruptedException {
        while (true) {
            long now = System.nanoTime();
            if (now - pausedUntilNanos < 0) {
                waitNanos(pausedUntilNanos - now);
                continue;
            }
            if (!failing || now - ownTurnNanos >= 0) {
                return;
            }
            long nextProbe = probed ? lastProbeNanos + probeIntervalNanos : now;
            if (now - nextProbe >= 0) {
                probed = true;
                lastProbeNanos = now;
                return;
            }
            waitNanos(Math.min(nextProbe - now, ownTurnNanos - now));
        }
    }

    synchronized void succeeded() {
        failing = false;
        notifyAll();
    }

    /** A send failed and will be retried; {@code retryAfter} (or null) pauses every send. */
    synchronized void failed(Duration retryAfter) {
        failing = true;
        if (retryAfter != null) {
            long until = System.nanoTime() + retryAfter.toNanos();
            if (until - pausedUntilNanos > 0) {
                pausedUntilNanos = until;
            }
        }
        notifyAll();
    }

    private void waitNanos(long nanos) throws InterruptedException {
        long millis = Math.max(1, nanos / 1_000_000);
        wait(millis);
    }
}
