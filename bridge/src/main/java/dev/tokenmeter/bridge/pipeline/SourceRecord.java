package dev.tokenmeter.bridge.pipeline;

import java.time.Instant;

/**
 * One raw record as a source delivered it: its bytes exactly as received, where it came from, and when the broker
 * stored it ({@code enqueuedTime}: the Event Hubs enqueued time or the Kafka record timestamp; null for files).
 * The enqueued time is part of the log, so decisions taken on it come out the same on every replay.
 */
public record SourceRecord(String partition, Position position, byte[] bytes, Instant enqueuedTime) {

    public SourceRecord(String partition, Position position, byte[] bytes) {
        this(partition, position, bytes, null);
    }
}
