package dev.tokenmeter.bridge.deadletter;

import java.io.IOException;
import java.util.List;

/**
 * Durable home for dead letters. {@link #write} and {@link #writeAll} return only once the letters are stored
 * durably, because the core then lets the source checkpoint past them: a local directory
 * ({@link DirectoryDeadLetterStore}) or a Blob container ({@link BlobDeadLetterStore}).
 */
public interface DeadLetterStore extends AutoCloseable {

    void write(DeadLetter letter) throws IOException;

    /**
     * Stores several letters at once, for stores where one flush for many is much cheaper than one each. On an
     * exception any of them may or may not be stored: the caller writes them all again, so stores must tolerate a
     * letter written twice.
     */
    default void writeAll(List<DeadLetter> letters) throws IOException {
        for (DeadLetter letter : letters) {
            write(letter);
        }
    }

    /** How many letters this process has written (for the end-of-run summary). */
    long written();

    /** Where the letters go, for logs and summaries: a directory or a container URL (never a secret). */
    String describe();

    @Override
    default void close() throws IOException {
    }
}
