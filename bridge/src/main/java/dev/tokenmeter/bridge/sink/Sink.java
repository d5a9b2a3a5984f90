package dev.tokenmeter.bridge.sink;

import dev.tokenmeter.bridge.mapping.OutgoingEvent;

import java.util.List;

/**
 * Where events go (OpenMeter, a local ledger). A sink sends one batch once and says what happened; retrying,
 * splitting rejected batches and dead-lettering are the core's job, so every sink gets them the same way.
 */
public interface Sink extends AutoCloseable {

    SendResult send(List<OutgoingEvent> batch) throws InterruptedException;

    @Override
    default void close() {
    }
}
