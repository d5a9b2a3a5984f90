package dev.tokenmeter.bridge.join;

import java.time.Instant;

/**
 * A heartbeat the re-key stage writes to every partition of the usage hub: it carries nothing but its own enqueued
 * time, which moves the partition's watermark on while no traffic does, so waiting records time out on schedule.
 * Contract: {@code policies/schema/tick.v1.json}.
 */
public record Tick(Instant time, String emitter) implements JoinRow {
}
