package dev.tokenmeter.bridge.progress;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * A file run's progress for the person watching it: every {@code every}, one line on stderr with the records read
 * so far, the rate since the previous line and the dead letters so far.
 */
public final class ProgressLine implements Runnable {

    private final PrintStream err;
    private final ProgressClock clock;
    private final long everyNanos;
    private final LongSupplier records;
    private final LongSupplier deadLetters;
    private long lastNanos;
    private long lastRecords;

    public ProgressLine(PrintStream err, ProgressClock clock, Duration every, LongSupplier records,
                        LongSupplier deadLetters) {
        this.err = err;
        this.clock = clock;
        this.everyNanos = every.toNanos();
        this.records = records;
        this.deadLetters = deadLetters;
        this.lastNanos = clock.nanoTime();
    }

    /** Prints a line when {@code every} has passed since the last one (or the start); otherwise nothing. */
    @Override
    public synchronized void run() {
        long now = clock.nanoTime();
        long elapsed = now - lastNanos;
        if (elapsed < everyNanos) {
            return;
        }
        long read = records.getAsLong();
        double rate = (read - lastRecords) * 1e9 / elapsed;
        err.printf(Locale.ROOT, "progress: %,d records read (%,.0f/s); dead letters: %,d%n", read, rate,
                deadLetters.getAsLong());
        err.flush();
        lastNanos = now;
        lastRecords = read;
    }
}
