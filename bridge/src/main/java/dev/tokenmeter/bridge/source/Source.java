package dev.tokenmeter.bridge.source;

import dev.tokenmeter.bridge.pipeline.CheckpointListener;
import dev.tokenmeter.bridge.pipeline.Intake;

/**
 * Where usage records come from (a file, Event Hubs, Kafka). A source feeds records into the pipeline in position
 * order per partition, and checkpoints only positions the core reports as safe through {@link CheckpointListener}.
 */
public interface Source extends CheckpointListener {

    /**
     * Reads and submits records until the input ends (finite sources) or {@link #stop()} is called.
     */
    void run(Intake pipeline) throws Exception;

    /** Asks {@link #run} to return soon; called from another thread (SIGTERM). */
    void stop();

    /**
     * Called once at shutdown after the core settled (or abandoned) everything: write the checkpoints still owed
     * for positions reported safe, so a restart redelivers as little as possible.
     */
    default void checkpointSafePositions() {
    }

    /** Whether the source is making progress (connected, partitions owned or heartbeats seen). */
    default boolean ready() {
        return true;
    }

    /** A short description for logs, never including secrets. */
    String describe();
}
