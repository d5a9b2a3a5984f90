package dev.tokenmeter.bridge.deadletter;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Writes dead letters in groups on one thread: whatever has queued up while the previous group was being made
 * durable goes in the next, with one flush (one fsync, or one round of parallel uploads) for all of them. Each
 * letter's {@code onDurable} runs only after its group is stored, so a record still settles, and the source may
 * checkpoint past it, only once its letter is durable; it just no longer costs one flush per letter, which is what
 * made a file of bad records drain many times slower than a file of good ones. A failing store is retried for as
 * long as it takes ({@link RetryingDeadLetterWriter}); while it fails the queue fills and {@link #submit} blocks,
 * which holds the source back like a slow sink does.
 */
public final class GroupCommitDeadLetterWriter implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(GroupCommitDeadLetterWriter.class);
    /** Letters in one flush; also how many wait (bounded memory: letters carry records of up to 256 KiB). */
    static final int GROUP = 512;

    private record Pending(DeadLetter letter, Runnable onDurable) {
    }

    private final RetryingDeadLetterWriter writer;
    private final BlockingQueue<Pending> queue = new ArrayBlockingQueue<>(GROUP);
    private final Thread thread;
    private volatile boolean closed;

    public GroupCommitDeadLetterWriter(RetryingDeadLetterWriter writer) {
        this.writer = writer;
        this.thread = new Thread(this::loop, "tokenmeter-dead-letters");
        thread.setDaemon(true);
        thread.start();
    }

    /** Queues {@code letter}; {@code onDurable} runs on the writer's thread once it is stored. Blocks while full. */
    public void submit(DeadLetter letter, Runnable onDurable) throws InterruptedException {
        if (closed) {
            throw new IllegalStateException("dead-letter writer is closed");
        }
        queue.put(new Pending(letter, onDurable));
    }

    private void loop() {
        List<Pending> group = new ArrayList<>(GROUP);
        try {
            while (true) {
                Pending first = queue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    if (closed) {
                        return;
                    }
                    continue;
                }
                group.add(first);
                queue.drainTo(group, GROUP - 1);
                List<DeadLetter> letters = new ArrayList<>(group.size());
                for (Pending p : group) {
                    letters.add(p.letter());
                }
                writer.writeAll(letters);
                for (Pending p : group) {
                    try {
                        p.onDurable().run();
                    } catch (RuntimeException e) {
                        LOG.error("settling a dead-lettered record failed", e);
                    }
                }
                group.clear();
            }
        } catch (InterruptedException e) {
            // shutdown gave up on these: never settled, so never checkpointed, and read again after a restart
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops once what is queued is written, or at once when {@code waitNanos} passes first (what is not written
     * then is not settled, so not checkpointed).
     */
    public void close(long waitNanos) throws InterruptedException {
        closed = true;
        thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(waitNanos)));
        if (thread.isAlive()) {
            thread.interrupt();
            thread.join(5_000);
        }
    }

    @Override
    public void close() throws InterruptedException {
        close(TimeUnit.SECONDS.toNanos(30));
    }
}
