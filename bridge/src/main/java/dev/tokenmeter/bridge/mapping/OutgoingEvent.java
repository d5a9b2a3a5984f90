package dev.tokenmeter.bridge.mapping;

/**
 * One CloudEvent ready to send: its id and its JSON serialization, computed once so that every retry and every
 * redelivery of the same record sends identical bytes.
 */
public record OutgoingEvent(String id, byte[] json) {
}
