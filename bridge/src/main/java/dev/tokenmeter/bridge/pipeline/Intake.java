package dev.tokenmeter.bridge.pipeline;

/**
 * What a source feeds: the bridge's {@link Pipeline}, or the re-key stage. Sources call {@link #submit} in position
 * order per partition and checkpoint only what the {@link #tracker()} reports safe.
 */
public interface Intake {

    /** Takes one raw record; may block (backpressure). */
    void submit(SourceRecord record) throws InterruptedException;

    /** Sends whatever is buffered now. */
    void flush() throws InterruptedException;

    CheckpointTracker tracker();

    /**
     * The source no longer owns {@code partition} (revoked, ownership lost): drop everything held for it, send
     * nothing more for it, and never report a safe position for what was in flight. The next owner reads it again.
     */
    void forget(String partition);

    /** A finite source read the whole of {@code partition} (a file): nothing more will come for it. */
    default void endOfPartition(String partition) throws InterruptedException {
    }
}
