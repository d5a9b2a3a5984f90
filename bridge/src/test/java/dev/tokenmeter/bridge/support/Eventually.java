package dev.tokenmeter.bridge.support;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waits on a condition with a deadline, polling; never a fixed sleep. */
public final class Eventually {

    private Eventually() {
    }

    public static void await(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        await(what, timeout, Duration.ofMillis(10), condition);
    }

    /** For conditions that are costly to check (a Kafka admin call), a longer pause between checks. */
    public static void await(String what, Duration timeout, Duration pollEvery, BooleanSupplier condition)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what);
            }
            Thread.sleep(pollEvery.toMillis());
        }
    }
}
