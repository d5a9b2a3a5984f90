package dev.tokenmeter.bridge.rekey;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/** A target that records every send attempt with its key and bytes, acknowledging at once or when told. */
final class FakeTarget implements RekeyTarget {

    /** One attempt; {@code ack} completes when the test (or auto-acknowledgement) says so. */
    record Send(String key, List<byte[]> rows, CompletableFuture<Void> ack) {
    }

    record TickSend(String partition, byte[] row, CompletableFuture<Void> ack) {
    }

    final List<Send> sends = new CopyOnWriteArrayList<>();
    final List<TickSend> ticks = new CopyOnWriteArrayList<>();
    volatile List<String> partitions = List.of("0", "1", "2", "3");
    volatile boolean autoAck = true;
    volatile boolean autoAckTicks = true;
    volatile boolean failAll;
    final AtomicInteger failNext = new AtomicInteger();
    volatile boolean closed;

    @Override
    public CompletableFuture<Void> send(String partitionKey, List<byte[]> rows) {
        Send send = new Send(partitionKey, List.copyOf(rows), new CompletableFuture<>());
        sends.add(send);
        if (failAll || failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            send.ack().completeExceptionally(new IllegalStateException("target unavailable"));
        } else if (autoAck) {
            send.ack().complete(null);
        }
        return send.ack();
    }

    @Override
    public CompletableFuture<Void> sendToPartition(String partitionId, byte[] row) {
        TickSend tick = new TickSend(partitionId, row, new CompletableFuture<>());
        ticks.add(tick);
        if (autoAckTicks) {
            tick.ack().complete(null);
        }
        return tick.ack();
    }

    @Override
    public List<String> partitions() {
        return partitions;
    }

    List<Send> sendsFor(String key) {
        return sends.stream().filter(s -> s.key().equals(key)).toList();
    }

    List<TickSend> ticksTo(String partition) {
        return ticks.stream().filter(t -> t.partition().equals(partition)).toList();
    }

    @Override
    public String describe() {
        return "fake target";
    }

    @Override
    public void close() {
        closed = true;
    }
}
