package dev.tokenmeter.bridge.pipeline;

/** One raw usage record as a source delivered it: its bytes exactly as received, and where it came from. */
public record SourceRecord(String partition, Position position, byte[] bytes) {
}
