package dev.tokenmeter.bridge.pipeline;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Knows, per partition, the highest position below which everything is settled, even when batches complete out of
 * order: a position becomes safe only when it and every position submitted before it in the same partition are
 * settled. Sources submit positions in increasing order per partition.
 */
public final class CheckpointTracker {

    private final CheckpointListener listener;
    private final Map<String, PartitionState> partitions = new ConcurrentHashMap<>();
    private final AtomicLong pending = new AtomicLong();
    /** Tracker-wide, so a partition owned again after forget() never accepts a ticket from before. */
    private final AtomicLong generations = new AtomicLong();
    private final Object drained = new Object();

    public CheckpointTracker(CheckpointListener listener) {
        this.listener = listener;
    }

    /** Registers a position as in flight. Returns a handle to settle it with. */
    public Ticket begin(String partition, Position position) {
        PartitionState state = partitions.computeIfAbsent(partition, p -> new PartitionState(generations.incrementAndGet()));
        Ticket ticket;
        synchronized (state) {
            ticket = new Ticket(partition, position, state.generation);
            state.inFlight.addLast(ticket);
        }
        pending.incrementAndGet();
        return ticket;
    }

    /** Marks a position settled and advances the partition's safe position as far as it now can. */
    public void settle(Ticket ticket) {
        settle(ticket, null);
    }

    /**
     * Marks a position settled, but lets the safe position pass it only together with {@code notWithout}, a later
     * position of the same partition: an LLM log row that came ahead of its record is only safe to skip once the
     * record is, or a restart between the two would read the record without its row and decide differently.
     */
    public void settle(Ticket ticket, Ticket notWithout) {
        PartitionState state = partitions.get(ticket.partition());
        if (state == null) {
            return;
        }
        synchronized (state) {
            if (ticket.generation() != state.generation || ticket.settled) {
                return;
            }
            ticket.settled = true;
            if (notWithout != null && notWithout.generation() == ticket.generation()) {
                ticket.notWithout = notWithout.position().sequence();
            }
            Position advancedTo = null;
            while (!state.inFlight.isEmpty() && state.inFlight.peekFirst().settled) {
                Ticket passed = state.inFlight.removeFirst();
                state.barrier = Math.max(state.barrier, passed.notWithout);
                // positions before the barrier are settled, but not yet safe to report: the barrier is not passed
                if (passed.position().sequence() >= state.barrier) {
                    advancedTo = passed.position();
                }
            }
            if (advancedTo != null) {
                state.safe = advancedTo;
                // under the partition's lock, so a source never sees its safe positions out of order
                listener.safeToCheckpoint(ticket.partition(), advancedTo);
            }
        }
        // after the listener, so whoever waits for a drain also sees the last checkpoint reported
        if (pending.decrementAndGet() == 0) {
            synchronized (drained) {
                drained.notifyAll();
            }
        }
    }

    public Optional<Position> safePosition(String partition) {
        PartitionState state = partitions.get(partition);
        if (state == null) {
            return Optional.empty();
        }
        synchronized (state) {
            return Optional.ofNullable(state.safe);
        }
    }

    /**
     * Forgets a partition this instance no longer owns (Event Hubs ownership lost, Kafka partition revoked):
     * whatever is still in flight for it will never move its safe position, so nothing past an unacknowledged
     * record is checkpointed by this instance.
     */
    public void forget(String partition) {
        PartitionState state = partitions.remove(partition);
        if (state == null) {
            return;
        }
        synchronized (state) {
            state.generation = generations.incrementAndGet();
            // settled tickets still queued behind an unsettled one were already counted down in settle()
            long unsettled = state.inFlight.stream().filter(t -> !t.settled).count();
            pending.addAndGet(-unsettled);
            state.inFlight.clear();
        }
        synchronized (drained) {
            drained.notifyAll();
        }
    }

    /** Records submitted but not yet settled, over all partitions: the checkpoint lag. */
    public long pending() {
        return pending.get();
    }

    /** Waits until nothing is in flight, or the deadline passes. Returns whether everything settled. */
    public boolean awaitDrained(long deadlineNanos) throws InterruptedException {
        synchronized (drained) {
            while (pending.get() > 0) {
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                drained.wait(Math.max(1, left / 1_000_000));
            }
            return true;
        }
    }

    /** A submitted position, settled once. */
    public static final class Ticket {
        private final String partition;
        private final Position position;
        private final long generation;
        private boolean settled;
        private long notWithout = Long.MIN_VALUE;

        private Ticket(String partition, Position position, long generation) {
            this.partition = partition;
            this.position = position;
            this.generation = generation;
        }

        public String partition() {
            return partition;
        }

        public Position position() {
            return position;
        }

        long generation() {
            return generation;
        }
    }

    private static final class PartitionState {
        final ArrayDeque<Ticket> inFlight = new ArrayDeque<>();
        Position safe;
        long generation;
        /** The safe position may not stop below this sequence (see {@link #settle(Ticket, Ticket)}). */
        long barrier = Long.MIN_VALUE;

        PartitionState(long generation) {
            this.generation = generation;
        }
    }
}
