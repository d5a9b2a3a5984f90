package dev.tokenmeter.bridge.pipeline;

/**
 * Told by the core when a partition's safe position advances: every record at or before it is settled (delivered
 * to the sink and acknowledged, or kept as a dead letter). A source checkpoints only positions it was given here.
 * Called from the core's threads, in order per partition, while the partition's lock is held: implementations
 * must be quick (note the position; write the checkpoint elsewhere) and must not throw.
 */
@FunctionalInterface
public interface CheckpointListener {

    void safeToCheckpoint(String partition, Position position);

    CheckpointListener NONE = (partition, position) -> { };
}
