package dev.tokenmeter.bridge.progress;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * What file-mode progress depends on outside the bridge: whether stderr is a terminal, the time, and a tick. The
 * real one asks {@link System#console()} and ticks every second on a daemon thread; a test drives its own.
 */
public interface ProgressClock {

    boolean stderrIsTerminal();

    long nanoTime();

    /** Calls {@code tick} regularly (about every second) until the returned handle is closed. */
    AutoCloseable schedule(Runnable tick);

    ProgressClock SYSTEM = new ProgressClock() {
        @Override
        public boolean stderrIsTerminal() {
            return System.console() != null;
        }

        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public AutoCloseable schedule(Runnable tick) {
            ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "tokenmeter-progress");
                t.setDaemon(true);
                return t;
            });
            timer.scheduleAtFixedRate(tick, 1, 1, TimeUnit.SECONDS);
            return timer::shutdownNow;
        }
    };
}
