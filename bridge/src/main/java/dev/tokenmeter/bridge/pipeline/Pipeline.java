package dev.tokenmeter.bridge.pipeline;

import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeException;
import dev.failsafe.RetryPolicy;
import dev.tokenmeter.bridge.deadletter.DeadLetter;
import dev.tokenmeter.bridge.deadletter.DeadLetterStore;
import dev.tokenmeter.bridge.deadletter.GroupCommitDeadLetterWriter;
import dev.tokenmeter.bridge.deadletter.RetryingDeadLetterWriter;
import dev.tokenmeter.bridge.join.JoinDecision;
import dev.tokenmeter.bridge.join.JoinObserver;
import dev.tokenmeter.bridge.join.JoinRow;
import dev.tokenmeter.bridge.join.JoinRowCodec;
import dev.tokenmeter.bridge.join.JoinSettings;
import dev.tokenmeter.bridge.join.LlmUsage;
import dev.tokenmeter.bridge.join.LlmUsageIndex;
import dev.tokenmeter.bridge.join.PartitionJoins;
import dev.tokenmeter.bridge.join.Tick;
import dev.tokenmeter.bridge.mapping.Billable;
import dev.tokenmeter.bridge.mapping.EventMapper;
import dev.tokenmeter.bridge.mapping.OutgoingEvent;
import dev.tokenmeter.bridge.sink.SendResult;
import dev.tokenmeter.bridge.sink.Sink;
import dev.tokenmeter.usage.ParseResult;
import dev.tokenmeter.usage.UsageRecord;
import dev.tokenmeter.usage.UsageRecordParser;
import dev.tokenmeter.usage.UsageRecordWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * The bridge's source-independent core: parse and validate each record, join streamed ones with APIM's LLM log
 * ({@link PartitionJoins}: they wait for their exact counts, holding their checkpoint), map what is billed to
 * CloudEvents, batch them by
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
    private final CheckpointTracker tracker;
    private final PipelineMetrics metrics;
    private final DeliveryListener deliveryListener;
    private final Clock clock;
    /** Null when the join is off: every record is billed as it arrives. */
    private final PartitionJoins<HeldRecord, Claim> joins;
    private final JoinObserver joinObserver;
    private final StringPool sharedStrings = new StringPool(100_000);
    /** Records whose events are out, when the run must account for each at its end (file mode); else null. */
    private volatile java.util.Set<RecordInFlight> outstanding;

    private final Object batchLock = new Object();
    private List<PendingEvent> batch = new ArrayList<>();
    private long batchBytes;
    private long batchOpenedNanos;

    private final Semaphore sendSlots;
    private final ExecutorService senders;
    private final ScheduledExecutorService lingerTimer;
    private final RetryPolicy<SendResult> sendRetry;
    private final RetryingDeadLetterWriter deadLetterWriter;
    private final GroupCommitDeadLetterWriter deadLetterGroups;
    private final AtomicInteger consecutiveSendFailures = new AtomicInteger();
    private final AtomicLong lastAcceptedNanos = new AtomicLong(System.nanoTime());
    private final AtomicBoolean closed = new AtomicBoolean();
    private final SinkGate gate;
    private static final Duration FIRST_ATTEMPT_WHILE_FAILING = Duration.ofDays(1);

    public Pipeline(PipelineSettings settings, UsageRecordParser parser, EventMapper mapper, Sink sink,
                    DeadLetterStore deadLetters, CheckpointTracker tracker, PipelineMetrics metrics,
                    DeliveryListener deliveryListener, Clock clock) {
        this(settings, parser, mapper, sink, deadLetters, tracker, metrics, deliveryListener, clock,
                JoinSettings.off(), JoinObserver.NONE, null);
    }

    /**
     * @param index all LLM log rows of a backfill, to join against at once; null to join on each partition's log
     */
    public Pipeline(PipelineSettings settings, UsageRecordParser parser, EventMapper mapper, Sink sink,
                    DeadLetterStore deadLetters, CheckpointTracker tracker, PipelineMetrics metrics,
                    DeliveryListener deliveryListener, Clock clock, JoinSettings join, JoinObserver joinObserver,
                    LlmUsageIndex index) {
        this.settings = settings;
        this.parser = parser;
        this.mapper = mapper;
        this.sink = sink;
        this.tracker = tracker;
        this.metrics = metrics;
        this.deliveryListener = deliveryListener;
        this.clock = clock;
        this.joins = join.enabled() ? new PartitionJoins<>(join, joinObserver, index) : null;
        this.joinObserver = joinObserver;
        this.sendSlots = new Semaphore(settings.maxInFlightBatches());
        this.gate = new SinkGate(Duration.ofMillis(Math.min(1000, settings.maxBackoff().toMillis())));
        this.senders = Executors.newFixedThreadPool(settings.maxInFlightBatches(), daemon("tokenmeter-sender"));
        this.lingerTimer = Executors.newSingleThreadScheduledExecutor(daemon("tokenmeter-linger"));
        this.sendRetry = RetryPolicy.<SendResult>builder()
                .handleResultIf(result -> result instanceof SendResult.Retryable)
                .handle(RuntimeException.class)
                .withMaxRetries(-1)
                .onRetry(event -> onSendRetry(event.getLastResult(), event.getLastException(), event.getAttemptCount()))
                .build();
        this.deadLetterWriter = new RetryingDeadLetterWriter(deadLetters, settings.initialBackoff(),
                settings.maxBackoff());
        this.deadLetterGroups = new GroupCommitDeadLetterWriter(deadLetterWriter);
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
        Claim claim = new Claim(tracker.begin(source.partition(), source.position()));
        try {
            process(source, claim);
        } catch (RuntimeException | StackOverflowError e) {
            // one record must never stop its partition: keep it, say what happened, move on
            LOG.error("internal error on {} at {}; the record is kept as a dead letter", source.partition(),
                    source.position(), e);
            deadLetter(DeadLetter.Reason.INTERNAL_ERROR, "the bridge failed on this record: " + e,
                    source, requestIdIn(source.bytes()), null, claim::release);
        }
    }

    private void process(SourceRecord source, Claim claim) throws InterruptedException {
        String rowProblem = null;
        if (JoinRowCodec.mayBeJoinRow(source.bytes())) {
            JoinRowCodec.Read read = JoinRowCodec.read(source.bytes());
            if (read instanceof JoinRowCodec.Read.Row row) {
                onJoinRow(source, row.row(), claim);
                return;
            }
            if (read instanceof JoinRowCodec.Read.Invalid invalid) {
                rowProblem = invalid.reason();
            }
        }
        ParseResult parsed = parser.parse(source.bytes());
        if (parsed instanceof ParseResult.Invalid invalid) {
            deadLetter(DeadLetter.Reason.INVALID_RECORD, rowProblem != null ? "join row: " + rowProblem : invalid.reason(),
                    source, requestIdIn(source.bytes()), null, claim::release);
            if (joins != null) {
                execute(joins.other(source.partition(), null, timeOf(source, null)));
            }
            return;
        }
        UsageRecord record = ((ParseResult.Valid) parsed).record();
        long time = timeOf(source, record.timestamp());
        if (joins != null && record.exactExpected()) {
            HeldRecord held = new HeldRecord(source.partition(), source.position(), record.sharing(sharedStrings));
            execute(joins.record(source.partition(), JoinRowCodec.canonical(record.requestId()), held, claim, time));
            return;
        }
        try {
            bill(Billable.asRecorded(record), source, claim, null);
        } finally {
            // interrupted or not, what bill() queued holds the claim itself; an event it could not queue keeps the
            // record unsettled, so it is delivered again after a restart rather than lost
            claim.release();
        }
        if (joins != null) {
            execute(joins.other(source.partition(), JoinRowCodec.canonical(record.requestId()), time));
        }
    }

    private void onJoinRow(SourceRecord source, JoinRow row, Claim claim) throws InterruptedException {
        if (joins == null) {
            // the re-key stage runs but this bridge does not join: the rows bill nothing and hold nothing
            joinObserver.row(JoinObserver.RowOutcome.NON_STREAM);
            claim.release();
            return;
        }
        if (row instanceof LlmUsage usage) {
            execute(joins.row(source.partition(), usage, claim, timeOf(source, usage.time())));
        } else {
            claim.release();
            execute(joins.other(source.partition(), null, timeOf(source, ((Tick) row).time())));
        }
    }

    /** Carries out the join's decisions in order: every bill takes its holds before the join lets go of its own. */
    private void execute(List<JoinDecision<HeldRecord, Claim>> decisions) throws InterruptedException {
        for (JoinDecision<HeldRecord, Claim> decision : decisions) {
            if (decision instanceof JoinDecision.Joined<HeldRecord, Claim> j) {
                bill(Billable.joined(j.record().record(), j.row()), j.record(), j.claim(), j.rowClaim());
            } else if (decision instanceof JoinDecision.Estimated<HeldRecord, Claim> e) {
                bill(Billable.estimated(e.record().record(), e.reason()), e.record(), e.claim(), null);
            } else if (decision instanceof JoinDecision.Corrected<HeldRecord, Claim> c) {
                UsageRecord estimate = c.record().record();
                joinObserver.corrected(Billable.clampedTokens(estimate, c.row()));
                Billable correction = Billable.lateCorrection(estimate, c.row());
                if (correction != null) {
                    bill(correction, c.record(), c.claim(), null);
                }
            } else if (decision instanceof JoinDecision.Release<HeldRecord, Claim> r) {
                if (r.notWithout() != null) {
                    r.claim().notWithout(r.notWithout());
                }
                r.claim().release();
            }
        }
    }

    private static final java.util.regex.Pattern REQUEST_ID =
            java.util.regex.Pattern.compile("\"(?:request_id|correlation_id)\"\\s*:\\s*\"([A-Za-z0-9._:-]{1,128})\"");

    /** The request id of a record the contract refuses, when one can be read, so its dead letter can be found. */
    static String requestIdIn(byte[] bytes) {
        if (bytes.length > 64 * 1024) {
            return null;
        }
        var m = REQUEST_ID.matcher(new String(bytes, java.nio.charset.StandardCharsets.UTF_8));
        return m.find() ? m.group(1) : null;
    }

    private static long timeOf(SourceRecord source, java.time.Instant ownTime) {
        if (source.enqueuedTime() != null) {
            return source.enqueuedTime().toEpochMilli();
        }
        return ownTime != null ? ownTime.toEpochMilli() : Long.MIN_VALUE;
    }

    private void bill(Billable billable, HeldRecord held, Claim claim, Claim rowClaim) throws InterruptedException {
        bill(billable, null, held, claim, rowClaim);
    }

    private void bill(Billable billable, SourceRecord source, Claim claim, Claim rowClaim) throws InterruptedException {
        bill(billable, source, null, claim, rowClaim);
    }

    /** Maps what is billed and queues its events; the claims are held until every event is settled. */
    private void bill(Billable billable, SourceRecord source, HeldRecord held, Claim claim, Claim rowClaim)
            throws InterruptedException {
        List<OutgoingEvent> events = mapper.map(billable);
        if (events.isEmpty()) {
            deliveryListener.delivered(billable);
            return;
        }
        claim.retain();
        if (rowClaim != null) {
            rowClaim.retain();
        }
        RecordInFlight inFlight = new RecordInFlight(claim, rowClaim, source, held, billable, events.size());
        java.util.Set<RecordInFlight> tracked = outstanding;
        if (tracked != null) {
            tracked.add(inFlight);
        }
        for (OutgoingEvent event : events) {
            enqueue(new PendingEvent(event, inFlight));
        }
    }

    /** The partition's input is over (the end of a file): what still waits for a row is billed with its estimate. */
    @Override
    public void endOfPartition(String partition) throws InterruptedException {
        if (joins != null) {
            execute(joins.end(partition));
        }
    }

    /** Records and LLM log rows the join holds; 0 when it is off. */
    public long joinHeld() {
        return joins == null ? 0 : joins.held();
    }

    /** False while the join holds more than its limit (memory): readiness turns red. */
    public boolean joinWithinLimit() {
        return joins == null || joins.held() <= joins.settings().maxPending();
    }

    public double joinWatermarkLagSeconds() {
        return joins == null ? 0 : joins.watermarkLagSeconds(clock.millis());
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
        if (joins != null) {
            joins.forget(partition);
        }
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
        // a flush the timer was making puts its batch back when interrupted: wait for that before taking the last
        lingerTimer.awaitTermination(Math.max(1, Math.min(1_000_000_000L, deadline - System.nanoTime())),
                TimeUnit.NANOSECONDS);
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
        deadLetterGroups.close(deadline - System.nanoTime());
        if (!settled) {
            LOG.warn("shutdown deadline passed with {} records unsettled; they were not checkpointed and will be "
                    + "delivered again after restart", tracker.pending());
        }
        return settled;
    }

    /**
     * For runs that end (file mode): remember what is out, so that whatever the sink has not acknowledged when
     * {@link #close(Duration)} gives up can still be kept, by {@link #deadLetterUndelivered}. Call before submitting.
     */
    public void accountForEveryRecord() {
        outstanding = java.util.concurrent.ConcurrentHashMap.newKeySet();
    }

    /**
     * After {@link #close(Duration)} returned false: writes every record the sink has not acknowledged as a dead
     * letter ({@code undelivered}), so a file run loses nothing however it ends. Returns how many.
     */
    public int deadLetterUndelivered() throws InterruptedException {
        java.util.Set<RecordInFlight> tracked = outstanding;
        if (tracked == null) {
            throw new IllegalStateException("accountForEveryRecord() was not called");
        }
        int written = 0;
        for (RecordInFlight record : List.copyOf(tracked)) {
            if (tracked.remove(record)) {
                SourceRecord source = record.source();
                DeadLetter letter = new DeadLetter(clock.instant(), DeadLetter.Reason.UNDELIVERED, "not acknowledged by "
                        + sink + " before the run's shutdown timeout; replay it", source.partition(),
                        source.position().toString(), record.billed().record().requestId(), source.bytes(), null);
                // after close(): the group writer has stopped, so these are written here, each durable on return
                deadLetterWriter.write(letter);
                metrics.deadLetter(letter.reason());
                written++;
            }
        }
        return written;
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
            try {
                dispatch(full1);
            } catch (InterruptedException e) {
                if (full2 != null) {
                    putBack(full2);
                }
                throw e;
            }
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
        try {
            sendSlots.acquire();
        } catch (InterruptedException e) {
            putBack(events);
            throw e;
        }
        submitToSender(events);
    }

    /**
     * A closed batch holds other records' events too: when it cannot be sent now (interrupted), it goes back in
     * front of the open batch, so the next flush or close() still sends it (oversized batches are split by the sink's
     * 413 like any other).
     */
    private void putBack(List<PendingEvent> events) {
        synchronized (batchLock) {
            List<PendingEvent> back = new ArrayList<>(events);
            back.addAll(batch);
            for (PendingEvent pending : events) {
                batchBytes += pending.event().json().length + 1;
            }
            if (batch.isEmpty()) {
                batchOpenedNanos = System.nanoTime();
            }
            batch = back;
        }
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
                        e.record().billed().record().requestId(), e.event().json(), () -> e.record().eventSettled(true));
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
            return Failsafe.with(sendRetry).get(context -> {
                int attempt = context.getAttemptCount();
                // the backoff is waited for in the gate, where a probe's success cuts it short for every batch
                // a first attempt while the sink fails waits for it to recover (or its turn to probe)
                gate.awaitTurn(System.nanoTime() + (attempt == 0 ? FIRST_ATTEMPT_WHILE_FAILING.toNanos()
                        : retryDelay(context.getLastResult(), attempt).toNanos()));
                SendResult result;
                try {
                    result = sink.send(outgoing);
                } catch (RuntimeException e) {
                    gate.failed(null);
                    throw e;
                }
                if (result instanceof SendResult.Retryable r) {
                    gate.failed(r.retryAfter());
                } else {
                    gate.succeeded();
                }
                return result;
            });
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

    /** Queues the letter for the next group flush; {@code settle} runs once it is durable, never before. */
    private void deadLetter(DeadLetter.Reason reason, String detail, SourceRecord source, String requestId,
                            byte[] event, Runnable settle) throws InterruptedException {
        DeadLetter letter = new DeadLetter(clock.instant(), reason, detail, source.partition(),
                source.position().toString(), requestId, source.bytes(), event);
        deadLetterGroups.submit(letter, () -> {
            metrics.deadLetter(reason);
            settle.run();
        });
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

    /**
     * A record the join holds: parsed, with its repeating strings shared (less memory than its bytes, and no second
     * parse when it is decided). Should its events be refused, its dead letter's original is the record written back
     * in its contract's form ({@link UsageRecordWriter}).
     */
    private record HeldRecord(String partition, Position position, UsageRecord record) {
        SourceRecord asSource() {
            return new SourceRecord(partition, position, UsageRecordWriter.write(record));
        }
    }

    /** A source position with holds on it: settled in the tracker when the last hold is released. */
    private final class Claim {
        private final CheckpointTracker.Ticket ticket;
        private final AtomicInteger holds = new AtomicInteger(1);
        private volatile CheckpointTracker.Ticket notWithout;

        Claim(CheckpointTracker.Ticket ticket) {
            this.ticket = ticket;
        }

        /** This position is skipped by a checkpoint only together with {@code other}'s. */
        void notWithout(Claim other) {
            notWithout = other.ticket;
        }

        void retain() {
            holds.incrementAndGet();
        }

        void release() {
            if (holds.decrementAndGet() == 0) {
                tracker.settle(ticket, notWithout);
            }
        }
    }

    /** What was billed for a request, whose events are out; lets go of its claims when the last one is settled. */
    private final class RecordInFlight {
        private final Claim claim;
        private final Claim rowClaim;
        private final SourceRecord source;
        private final HeldRecord held;
        private final Billable billed;
        private final AtomicInteger remaining;
        private volatile boolean anyDeadLettered;

        RecordInFlight(Claim claim, Claim rowClaim, SourceRecord source, HeldRecord held, Billable billed, int events) {
            this.claim = claim;
            this.rowClaim = rowClaim;
            this.source = source;
            this.held = held;
            this.billed = billed;
            this.remaining = new AtomicInteger(events);
        }

        SourceRecord source() {
            return source != null ? source : held.asSource();
        }

        Billable billed() {
            return billed;
        }

        void eventSettled(boolean deadLettered) {
            if (deadLettered) {
                anyDeadLettered = true;
            }
            if (remaining.decrementAndGet() == 0) {
                java.util.Set<RecordInFlight> tracked = outstanding;
                if (tracked != null) {
                    tracked.remove(this);
                }
                if (!anyDeadLettered) {
                    deliveryListener.delivered(billed);
                }
                claim.release();
                if (rowClaim != null) {
                    rowClaim.release();
                }
            }
        }
    }
}
