package dev.tokenmeter.bridge.pipeline;

/**
 * Where a record sits in its partition. {@code sequence} orders records within a partition (Event Hubs sequence
 * number, Kafka offset, line number of a file); {@code offset} is whatever else the source needs to checkpoint
 * there (the Event Hubs offset string), or null.
 */
public record Position(long sequence, String offset) {

    public static Position of(long sequence) {
        return new Position(sequence, null);
    }

    @Override
    public String toString() {
        return offset == null ? Long.toString(sequence) : sequence + "@" + offset;
    }
}
