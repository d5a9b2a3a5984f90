package dev.tokenmeter.bridge.deadletter;

import java.io.IOException;

/**
 * Durable home for dead letters. {@link #write} returns only once the letter is stored durably, because the core
 * then lets the source checkpoint past it. A local directory today; a Blob container fits the same interface.
 */
public interface DeadLetterStore extends AutoCloseable {

    void write(DeadLetter letter) throws IOException;

    /** How many letters this process has written (for the end-of-run summary). */
    long written();

    @Override
    default void close() throws IOException {
    }
}
