package dev.tokenmeter.bridge;

import dev.tokenmeter.bridge.progress.ProgressClock;
import dev.tokenmeter.bridge.progress.ProgressLine;
import dev.tokenmeter.bridge.support.Eventually;
import dev.tokenmeter.bridge.support.Records;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * File mode at a terminal says how far it is, every few seconds; not at a pipe, and not with --quiet. The terminal
 * and the time are driven by the test: no TTY, no sleeping.
 */
class FileProgressTest {

    /** A terminal (or not) whose time moves only when the test says, and whose tick the test fires. */
    static final class DrivenClock implements ProgressClock {
        final boolean terminal;
        final AtomicLong nanos = new AtomicLong(1_000_000_000L);
        final AtomicReference<Runnable> tick = new AtomicReference<>();

        DrivenClock(boolean terminal) {
            this.terminal = terminal;
        }

        @Override
        public boolean stderrIsTerminal() {
            return terminal;
        }

        @Override
        public long nanoTime() {
            return nanos.get();
        }

        @Override
        public AutoCloseable schedule(Runnable tick) {
            this.tick.set(tick);
            return () -> this.tick.set(null);
        }

        void advanceAndTick(Duration by) {
            nanos.addAndGet(by.toNanos());
            Runnable t = tick.get();
            if (t != null) {
                t.run();
            }
        }
    }

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private CompletableFuture<Integer> runOnStdin(PipedInputStream stdin, DrivenClock clock, String... extra) {
        String[] args = new String[8 + extra.length];
        String[] base = {"-", "--ledger-file", dir.resolve("ledger.jsonl").toString(), "--dead-letter-dir",
                dir.resolve("dead").toString(), "--log-format", "text", "--shutdown-timeout-ms=20000"};
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return CompletableFuture.supplyAsync(() -> BridgeMain.run(args, stdin, new PrintStream(out, true),
                new PrintStream(err, true), false, clock));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void atATerminalAFileRunSaysEveryFewSecondsHowManyRecordsItReadAndHowManyDeadLetters() throws Exception {
        DrivenClock clock = new DrivenClock(true);
        PipedOutputStream input = new PipedOutputStream();
        PipedInputStream stdin = new PipedInputStream(input, 1 << 16);
        CompletableFuture<Integer> run = runOnStdin(stdin, clock);
        for (int i = 0; i < 3; i++) {
            input.write(Records.valid(i));
            input.write('\n');
        }
        input.write("not a record\n".getBytes(StandardCharsets.UTF_8));
        input.flush();

        Eventually.await("the first progress line", Duration.ofSeconds(30), () -> clock.tick.get() != null);
        // less than the interval: nothing yet
        clock.advanceAndTick(BridgeMain.PROGRESS_EVERY.minusMillis(1));
        assertThat(err()).doesNotContain("progress:");
        Eventually.await("a line with all four records and the dead letter", Duration.ofSeconds(30), () -> {
            clock.advanceAndTick(BridgeMain.PROGRESS_EVERY);
            return err().matches("(?s).*progress: 4 records read \\(\\d+/s\\); dead letters: 1\\n.*");
        });

        input.close();
        assertThat(run.get(60, TimeUnit.SECONDS)).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("records read: 4;", "dead letters: 1");
        assertThat(clock.tick.get()).as("progress stops with the run").isNull();
    }

    @Test
    void notAtATerminalThereIsNoProgress() throws Exception {
        DrivenClock clock = new DrivenClock(false);
        PipedOutputStream input = new PipedOutputStream();
        CompletableFuture<Integer> run = runOnStdin(new PipedInputStream(input), clock);
        input.write(Records.valid(1));
        input.write('\n');
        input.close();
        assertThat(run.get(60, TimeUnit.SECONDS)).isZero();
        assertThat(clock.tick.get()).isNull();
        assertThat(err()).doesNotContain("progress:");
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("USER", "records read: 1;");
    }

    @Test
    void quietPrintsNoProgressAndNoTableOnlyTheSummaryLine() throws Exception {
        DrivenClock clock = new DrivenClock(true);
        PipedOutputStream input = new PipedOutputStream();
        CompletableFuture<Integer> run = runOnStdin(new PipedInputStream(input), clock, "--quiet");
        input.write(Records.valid(1));
        input.write('\n');
        input.close();
        assertThat(run.get(60, TimeUnit.SECONDS)).isZero();
        assertThat(clock.tick.get()).isNull();
        assertThat(err()).doesNotContain("progress:");
        assertThat(out.toString(StandardCharsets.UTF_8).strip()).startsWith("records read: 1;").doesNotContain("USER");
    }

    @Test
    void theRateIsTheRecordsSinceTheLastLineOverTheTimeSinceIt() throws IOException {
        DrivenClock clock = new DrivenClock(true);
        AtomicLong records = new AtomicLong();
        ProgressLine line = new ProgressLine(new PrintStream(err, true), clock, Duration.ofSeconds(5), records::get,
                () -> 7);
        records.set(12_000);
        clock.nanos.addAndGet(Duration.ofSeconds(6).toNanos());
        line.run();
        records.set(13_000);
        clock.nanos.addAndGet(Duration.ofSeconds(4).toNanos());
        line.run();
        clock.nanos.addAndGet(Duration.ofSeconds(1).toNanos());
        line.run();
        assertThat(err().lines().toList()).containsExactly(
                "progress: 12,000 records read (2,000/s); dead letters: 7",
                "progress: 13,000 records read (200/s); dead letters: 7");
    }
}
