package dev.tokenmeter.bridge.source.testing;

import dev.tokenmeter.bridge.mapping.OutgoingEvent;
import dev.tokenmeter.bridge.sink.SendResult;
import dev.tokenmeter.bridge.sink.Sink;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.List;

/**
 * Counts every acknowledged event by id. A batch holding a {@linkplain #hold held} id waits until the test
 * releases it, as a sink that has not answered yet.
 */
public final class CollectingSink implements Sink {

    private final Map<String, AtomicInteger> acknowledged = new ConcurrentHashMap<>();
    private final Set<String> held = ConcurrentHashMap.newKeySet();
    private final CountDownLatch release = new CountDownLatch(1);
    private final AtomicInteger heldBatches = new AtomicInteger();
    private final AtomicInteger heldEvents = new AtomicInteger();

    public void hold(String id) {
        held.add(id);
    }

    public void releaseAll() {
        release.countDown();
    }

    /** Events in the batches waiting right now: batch boundaries follow the linger time, so tests cannot assume them. */
    public int heldEvents() {
        return heldEvents.get();
    }

    /** Batches waiting on a held id right now. */
    public int heldBatches() {
        return heldBatches.get();
    }

    @Override
    public SendResult send(List<OutgoingEvent> batch) throws InterruptedException {
        for (OutgoingEvent e : batch) {
            if (held.contains(e.id())) {
                heldEvents.addAndGet(batch.size());
                heldBatches.incrementAndGet();
                try {
                    release.await();
                } finally {
                    heldBatches.decrementAndGet();
                    heldEvents.addAndGet(-batch.size());
                }
                break;
            }
        }
        for (OutgoingEvent e : batch) {
            acknowledged.computeIfAbsent(e.id(), k -> new AtomicInteger()).incrementAndGet();
        }
        return SendResult.ACCEPTED;
    }

    public boolean acknowledged(String id) {
        return acknowledged.containsKey(id);
    }

    /** Distinct ids acknowledged. */
    public int distinct() {
        return acknowledged.size();
    }

    /** Acknowledgements beyond the first, over all ids. */
    public long duplicates() {
        return acknowledged.values().stream().mapToLong(n -> n.get() - 1).sum();
    }
}
