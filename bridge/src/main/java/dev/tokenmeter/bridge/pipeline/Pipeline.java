package dev.tokenmeter.bridge.pipeline;

import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeException;
import dev.failsafe.RetryPolicy;
import dev.tokenmeter.bridge.deadletter.DeadLetter;
import dev.tokenmeter.bridge.deadletter.DeadLetterStore;
import dev.tokenmeter.bridge.mapping.EventMapper;
import dev.tokenmeter.bridge.mapping.OutgoingEvent;
import dev.tokenmeter.bridge.sink.SendResult;
import dev.tokenmeter.bridge.sink.Sink;
import dev.tokenmeter.usage.ParseResult;
import dev.tokenmeter.usage.UsageRecord;
import dev.tokenmeter.usage.UsageRecordParser;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The bridge's source-independent core: parse and validate each record, map it to CloudEvents, batch them by
 * count and bytes (flushed on a timer too), send batches with a bounded number in flight, retry for as long as it
 * takes, split rejected batches down to the events responsible, dead-letter what cannot be delivered, and tell
 * the {@link CheckpointTracker} when each record is settled.
 *
 * <p>Sources call {@link #submit} from any thread, in position order per partition. It blocks while all send slots
 * are busy: that is the backpressure that keeps memory bounded while the sink is slow or down.
 */
public final class Pipeline implements Intake, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Pipeline.class);

    private final PipelineSettings settings;
    private final UsageRecordParser parser;
    private final EventMapper mapper;
    private final Sink sink;
    private final DeadLetterStore deadLetters;
    private final CheckpointTracker tracker;
    private final PipelineMetrics metrics;
    private final DeliveryListener deliveryListener;
    private final Clock clock;

    private final Object batchLock = new Object();
    private List<PendingEvent> batch = new ArrayList<>();
    private long batchBytes;
    private long batchOpenedNanos;

    private final Semaphore sendSlots;
    private final ExecutorService senders;
    private final ScheduledExecutorService lingerTimer;
    private final RetryPolicy<SendResult> sendRetry;
    private final RetryPolicy<Object> deadLetterRetry;
    private final AtomicInteger consecutiveSendFailures = new AtomicInteger();
    private final AtomicLong lastAcceptedNanos = new AtomicLong(System.nanoTime());
    private final AtomicBoolean closed = new AtomicBoolean();

    public Pipeline(PipelineSettings settings, UsageRecordParser parser, EventMapper mapper, Sink sink,
                    DeadLetterStore deadLetters, CheckpointTracker tracker, PipelineMetrics metrics,
                    DeliveryListener deliveryListener, Clock clock) {
        this.settings = settings;
        this.parser = parser;
        this.mapper = mapper;
        this.sink = sink;
        this.deadLetters = deadLetters;
        this.tracker = tracker;
        this.metrics = metrics;
        this.deliveryListener = deliveryListener;
        this.clock = clock;
        this.sendSlots = new Semaphore(settings.maxInFlightBatches());
        this.senders = Executors.newFixedThreadPool(settings.maxInFlightBatches(), daemon("tokenmeter-sender"));
        this.lingerTimer = Executors.newSingleThreadScheduledExecutor(daemon("tokenmeter-linger"));
        this.sendRetry = RetryPolicy.<SendResult>builder()
                .handleResultIf(result -> result instanceof SendResult.Retryable)
                .handle(RuntimeException.class)
                .withDelayFn(context -> retryDelay(context.getLastResult(), context.getAttemptCount()))
                .withMaxRetries(-1)
                .onRetry(event -> onSendRetry(event.getLastResult(), event.getLastException(), event.getAttemptCount()))
                .build();
        this.deadLetterRetry = RetryPolicy.builder()
                .handle(IOException.class)
                .withBackoff(settings.initialBackoff(), settings.maxBackoff())
                .withMaxRetries(-1)
                .onRetry(event -> LOG.error("cannot write dead letter, retrying (attempt {}): {}",
                        event.getAttemptCount(), String.valueOf(event.getLastException())))
                .build();
        metrics.bindCheckpointLag(tracker::pending);
        long tick = Math.max(10, settings.linger().toMillis() / 2);
        lingerTimer.scheduleWithFixedDelay(this::flushIfLingered, tick, tick, TimeUnit.MILLISECONDS);
    }

    /** Takes one raw record. Blocks while every send slot is busy. */
    @Override
    public void submit(SourceRecord source) throws InterruptedException {
        if (closed.get()) {
            throw new IllegalStateException("pipeline is closed");
        }
        metrics.recordIn();
        CheckpointTracker.Ticket ticket = tracker.begin(source.partition(), source.position());
        ParseResult parsed = parser.parse(source.bytes());
        if (parsed instanceof ParseResult.Invalid invalid) {
            deadLetter(DeadLetter.Reason.INVALID_RECORD, invalid.reason(), source, null, null);
            tracker.settle(ticket);
            return;
        }
        UsageRecord record = ((ParseResult.Valid) parsed).record();
        List<OutgoingEvent> events = mapper.map(record);
        if (events.isEmpty()) {
            deliveryListener.delivered(record);
            tracker.settle(ticket);
            return;
        }
        RecordInFlight inFlight = new RecordInFlight(ticket, source, record, events.size());
        for (OutgoingEvent event : events) {
            enqueue(new PendingEvent(event, inFlight));
        }
    }

    /** Sends whatever is batched now instead of waiting for the batch to fill or linger. */
    @Override
    public void flush() throws InterruptedException {
        List<PendingEvent> toSend;
        synchronized (batchLock) {
            toSend = takeBatch();
        }
        if (toSend != null) {
            dispatch(toSend);
        }
    }

    /** True while the sink is accepting; false after repeated failures, until a send succeeds again. */
    public boolean sinkHealthy() {
        return consecutiveSendFailures.get() < 3;
    }

    public long nanosSinceLastAccepted() {
        return System.nanoTime() - lastAcceptedNanos.get();
    }

    @Override
    public CheckpointTracker tracker() {
        return tracker;
    }

    @Override
    public void forget(String partition) {
        tracker.forget(partition);
    }

    /**
     * Flushes and waits up to {@code timeout} for everything submitted to settle, then stops. Work still unsettled
     * at the deadline is abandoned: never acknowledged, so never checkpointed, and redelivered after a restart.
     *
     * @return true if everything settled in time
     */
    public boolean close(Duration timeout) throws InterruptedException {
        if (!closed.compareAndSet(false, true)) {
            return tracker.pending() == 0;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        lingerTimer.shutdownNow();
        List<PendingEvent> last;
        synchronized (batchLock) {
            last = takeBatch();
        }
        boolean settled = true;
        if (last != null) {
            settled = sendSlots.tryAcquire(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (settled) {
                submitToSender(last);
            }
        }
        settled = settled && tracker.awaitDrained(deadline);
        senders.shutdownNow();
        senders.awaitTermination(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (!settled) {
            LOG.warn("shutdown deadline passed with {} records unsettled; they were not checkpointed and will be "
                    + "delivered again after restart", tracker.pending());
        }
        return settled;
    }

    @Override
    public void close() throws InterruptedException {
        close(Duration.ofSeconds(30));
    }

    private void enqueue(PendingEvent event) throws InterruptedException {
        List<PendingEvent> full1 = null;
        List<PendingEvent> full2 = null;
        synchronized (batchLock) {
            if (!batch.isEmpty() && batchBytes + event.event().json().length + 1 > settings.maxBatchBytes()) {
                full1 = takeBatch();
            }
            if (batch.isEmpty()) {
                batchOpenedNanos = System.nanoTime();
            }
            batch.add(event);
            batchBytes += event.event().json().length + 1;
            if (batch.size() >= settings.maxBatchEvents()) {
                full2 = takeBatch();
            }
        }
        if (full1 != null) {
            dispatch(full1);
        }
        if (full2 != null) {
            dispatch(full2);
        }
    }

    private List<PendingEvent> takeBatch() {
        if (batch.isEmpty()) {
            return null;
        }
        List<PendingEvent> taken = batch;
        batch = new ArrayList<>(Math.min(settings.maxBatchEvents(), 1024));
        batchBytes = 0;
        return taken;
    }

    private void flushIfLingered() {
        try {
            List<PendingEvent> toSend = null;
            synchronized (batchLock) {
                if (!batch.isEmpty() && System.nanoTime() - batchOpenedNanos >= settings.linger().toNanos()) {
                    toSend = takeBatch();
                }
            }
            if (toSend != null) {
                dispatch(toSend);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.error("linger flush failed", e);
        }
    }

    private void dispatch(List<PendingEvent> events) throws InterruptedException {
        sendSlots.acquire();
        submitToSender(events);
    }

    private void submitToSender(List<PendingEvent> events) {
        metrics.inFlight(1);
        long start = System.nanoTime();
        senders.execute(() -> {
            try {
                deliver(events);
                metrics.batchDone(start);
            } catch (InterruptedException e) {
                // shutdown abandoned this batch: its records stay unsettled and are redelivered after restart
                Thread.currentThread().interrupt();
            } finally {
                metrics.inFlight(-1);
                sendSlots.release();
            }
        });
    }

    private void deliver(List<PendingEvent> events) throws InterruptedException {
        SendResult result = sendUntilDecided(events);
        if (result instanceof SendResult.Accepted) {
            consecutiveSendFailures.set(0);
            lastAcceptedNanos.set(System.nanoTime());
            metrics.eventsSent(events.size());
            for (PendingEvent e : events) {
                e.record().eventSettled(false);
            }
        } else if (result instanceof SendResult.Rejected rejected) {
            if (events.size() == 1) {
                PendingEvent e = events.get(0);
                LOG.warn("sink rejected event {}: {}", e.event().id(), rejected.reason());
                deadLetter(DeadLetter.Reason.REJECTED_BY_SINK, rejected.reason(), e.record().source(),
                        e.record().record().requestId(), e.event().json());
                e.record().eventSettled(true);
            } else {
                // halve until the events the sink refuses are alone; everything else still gets delivered
                int mid = events.size() / 2;
                deliver(events.subList(0, mid));
                deliver(events.subList(mid, events.size()));
            }
        }
    }

    private SendResult sendUntilDecided(List<PendingEvent> events) throws InterruptedException {
        List<OutgoingEvent> outgoing = new ArrayList<>(events.size());
        for (PendingEvent e : events) {
            outgoing.add(e.event());
        }
        try {
            return Failsafe.with(sendRetry).get(() -> sink.send(outgoing));
        } catch (FailsafeException e) {
            if (e.getCause() instanceof InterruptedException interrupted) {
                throw interrupted;
            }
            throw e;
        }
    }

    private void onSendRetry(SendResult last, Throwable failure, int attempt) {
        consecutiveSendFailures.incrementAndGet();
        if (last instanceof SendResult.Retryable r) {
            metrics.retry(r.cause());
            LOG.warn("send failed ({}), retry {}: {}", r.cause(), attempt, r.detail());
        } else {
            metrics.retry("exception");
            LOG.warn("send failed, retry {}: {}", attempt, String.valueOf(failure));
        }
    }

    /**
     * Exponential backoff with jitter, or the server's Retry-After. Jitter only ever lengthens a Retry-After (never
     * come back earlier than asked); a Retry-After is capped at ten times the longest backoff so a bogus header
     * cannot park the bridge for hours.
     */
    private Duration retryDelay(SendResult last, int attempts) {
        double jitter = 1 + java.util.concurrent.ThreadLocalRandom.current().nextDouble(0.25);
        if (last instanceof SendResult.Retryable r && r.retryAfter() != null) {
            Duration limit = settings.maxBackoff().multipliedBy(10);
            Duration wait = r.retryAfter().compareTo(limit) > 0 ? limit : r.retryAfter();
            return Duration.ofNanos((long) (wait.toNanos() * jitter));
        }
        long initial = settings.initialBackoff().toNanos();
        long exponential = initial << Math.min(30, Math.max(0, attempts - 1));
        long capped = Math.min(settings.maxBackoff().toNanos(), exponential < 0 ? Long.MAX_VALUE : exponential);
        // within 12.5 % either side of the backoff, so replicas that failed together do not retry together
        return Duration.ofNanos((long) (capped * (jitter - 0.125)));
    }

    private void deadLetter(DeadLetter.Reason reason, String detail, SourceRecord source, String requestId,
                            byte[] event) throws InterruptedException {
        DeadLetter letter = new DeadLetter(clock.instant(), reason, detail, source.partition(),
                source.position().toString(), requestId, source.bytes(), event);
        try {
            Failsafe.with(deadLetterRetry).run(() -> deadLetters.write(letter));
        } catch (FailsafeException e) {
            if (e.getCause() instanceof InterruptedException interrupted) {
                throw interrupted;
            }
            throw e;
        }
        metrics.deadLetter(reason);
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    private record PendingEvent(OutgoingEvent event, RecordInFlight record) {
    }

    /** A record whose events are out; settles in the tracker when the last one is acknowledged or dead-lettered. */
    private final class RecordInFlight {
        private final CheckpointTracker.Ticket ticket;
        private final SourceRecord source;
        private final UsageRecord record;
        private final AtomicInteger remaining;
        private volatile boolean anyDeadLettered;

        RecordInFlight(CheckpointTracker.Ticket ticket, SourceRecord source, UsageRecord record, int events) {
            this.ticket = ticket;
            this.source = source;
            this.record = record;
            this.remaining = new AtomicInteger(events);
        }

        SourceRecord source() {
            return source;
        }

        UsageRecord record() {
            return record;
        }

        void eventSettled(boolean deadLettered) {
            if (deadLettered) {
                anyDeadLettered = true;
            }
            if (remaining.decrementAndGet() == 0) {
                if (!anyDeadLettered) {
                    deliveryListener.delivered(record);
                }
                tracker.settle(ticket);
            }
        }
    }
}
