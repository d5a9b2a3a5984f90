package dev.tokenmeter.bridge.rekey;

import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeException;
import dev.failsafe.RetryPolicy;
import dev.tokenmeter.bridge.deadletter.DeadLetter;
import dev.tokenmeter.bridge.deadletter.DeadLetterStore;
import dev.tokenmeter.bridge.deadletter.RetryingDeadLetterWriter;
import dev.tokenmeter.bridge.join.JoinRowCodec;
import dev.tokenmeter.bridge.join.Tick;
import dev.tokenmeter.bridge.llmlog.LlmLogParser;
import dev.tokenmeter.bridge.llmlog.ParsedMessage;
import dev.tokenmeter.bridge.llmlog.RecordOutcome;
import dev.tokenmeter.bridge.llmlog.SkipReason;
import dev.tokenmeter.bridge.pipeline.CheckpointTracker;
import dev.tokenmeter.bridge.pipeline.Intake;
import dev.tokenmeter.bridge.pipeline.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The re-key stage ({@code --mode rekey}): reads APIM's LLM log from the diagnostic hub and republishes every
 * token-bearing row as an {@code llm_usage} row into the usage hub, with the canonical request id as partition key,
 * so it lands on the partition of the request's usage record, where the bridge joins the two.
 *
 * <p>A message is settled in the {@link CheckpointTracker} only once the target acknowledged every row made from it
 * (at once if it has none; after its dead letter is stored if it is unparseable), so the source never checkpoints
 * past a row that is not in the usage hub. Failed sends are retried with backoff for as long as it takes;
 * {@code submit} blocks while {@link RekeySettings#maxInFlightSends()} sends are unacknowledged. Every tick interval
 * a {@code tick} row goes to each partition of the target, so a quiet partition's watermark still moves.
 */
public final class RekeyStage implements Intake {

    private static final Logger LOG = LoggerFactory.getLogger(RekeyStage.class);
    /** While the target fails, one warning this often instead of one per send. */
    private static final long FAILURE_LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final RekeySettings settings;
    private final LlmLogParser parser;
    private final RekeyTarget target;
    private final CheckpointTracker tracker;
    private final RekeyMetrics metrics;
    private final Clock clock;

    private final Semaphore sendSlots;
    /** Runs the sends and their retries (so a blocking client call never holds a source thread) and the ticks. */
    private final ScheduledExecutorService scheduler;
    private final RetryPolicy<Void> sendRetry;
    private final RetryingDeadLetterWriter deadLetterWriter;
    private final ScheduledFuture<?> ticks;
    private final Map<String, Set<MessageInFlight>> inFlight = new ConcurrentHashMap<>();
    private final AtomicBoolean tickRoundOut = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicInteger failuresSinceAck = new AtomicInteger();
    private final AtomicLong lastAckNanos = new AtomicLong(System.nanoTime());
    private final AtomicLong lastFailureLogNanos = new AtomicLong(System.nanoTime() - FAILURE_LOG_INTERVAL_NANOS);

    public RekeyStage(RekeySettings settings, LlmLogParser parser, RekeyTarget target, DeadLetterStore deadLetters,
                      CheckpointTracker tracker, RekeyMetrics metrics, Clock clock) {
        this.settings = settings;
        this.parser = parser;
        this.target = target;
        this.tracker = tracker;
        this.metrics = metrics;
        this.clock = clock;
        this.sendSlots = new Semaphore(settings.maxInFlightSends());
        this.scheduler = Executors.newScheduledThreadPool(2, r -> {
            Thread t = new Thread(r, "tokenmeter-rekey");
            t.setDaemon(true);
            return t;
        });
        this.sendRetry = RetryPolicy.<Void>builder()
                .handle(Exception.class)
                .withBackoff(settings.initialBackoff(), settings.maxBackoff())
                .withJitter(0.125)
                .withMaxRetries(-1)
                .onRetry(event -> onSendRetry(event.getLastException(), event.getAttemptCount()))
                .build();
        this.deadLetterWriter = new RetryingDeadLetterWriter(deadLetters, settings.initialBackoff(),
                settings.maxBackoff());
        metrics.bindCheckpointLag(tracker::pending);
        long every = settings.tickInterval().toMillis();
        this.ticks = scheduler.scheduleAtFixedRate(this::tick, 0, every, TimeUnit.MILLISECONDS);
    }

    /** Parses one diagnostic message and sends its rows. Blocks while every send slot is taken. */
    @Override
    public void submit(SourceRecord source) throws InterruptedException {
        if (closed.get()) {
            throw new IllegalStateException("the re-key stage is closed");
        }
        metrics.messageIn();
        CheckpointTracker.Ticket ticket = tracker.begin(source.partition(), source.position());
        ParsedMessage parsed = parser.parse(source.bytes());
        if (parsed instanceof ParsedMessage.Unparseable unparseable) {
            LOG.warn("partition {} position {} is not a diagnostic log message, kept as a dead letter: {}",
                    source.partition(), source.position(), unparseable.reason());
            deadLetter(unparseable.reason(), source);
            metrics.unparseable();
            tracker.settle(ticket);
            return;
        }
        Map<String, List<byte[]>> rowsByKey = new LinkedHashMap<>();
        for (RecordOutcome outcome : ((ParsedMessage.Records) parsed).records()) {
            if (outcome instanceof RecordOutcome.Usage usage) {
                rowsByKey.computeIfAbsent(usage.usage().correlationId(), key -> new ArrayList<>())
                        .add(JoinRowCodec.write(usage.usage()));
            } else {
                RecordOutcome.Skipped skipped = (RecordOutcome.Skipped) outcome;
                metrics.skipped(skipped.reason());
                if (skipped.reason() == SkipReason.INVALID_FIELD || skipped.reason() == SkipReason.MISSING_FIELD) {
                    // the request is then billed from the usage record's estimate: worth a look, not a dead letter
                    LOG.warn("partition {} position {}: LLM log row skipped ({}): {}", source.partition(),
                            source.position(), skipped.reason().label(), skipped.detail());
                }
            }
        }
        if (rowsByKey.isEmpty()) {
            tracker.settle(ticket);
            return;
        }
        Set<MessageInFlight> partitionMessages = inFlight.computeIfAbsent(source.partition(),
                p -> ConcurrentHashMap.newKeySet());
        MessageInFlight message = new MessageInFlight(ticket, rowsByKey.size(), partitionMessages);
        partitionMessages.add(message);
        for (Map.Entry<String, List<byte[]>> rows : rowsByKey.entrySet()) {
            if (!takeSendSlot()) {
                return; // closed while waiting: the message stays unsettled, so it is never checkpointed
            }
            if (message.dropped) {
                sendSlots.release(); // its partition was forgotten while this waited: send nothing more for it
                return;
            }
            message.send(rows.getKey(), rows.getValue());
        }
    }

    private boolean takeSendSlot() throws InterruptedException {
        while (!sendSlots.tryAcquire(100, TimeUnit.MILLISECONDS)) {
            if (closed.get()) {
                return false;
            }
        }
        return true;
    }

    /** Nothing waits in the stage: every row is handed to the target as soon as its message is read. */
    @Override
    public void flush() {
    }

    @Override
    public CheckpointTracker tracker() {
        return tracker;
    }

    /** The source lost the partition: its messages never settle, and their sends stop being retried. */
    @Override
    public void forget(String partition) {
        tracker.forget(partition);
        Set<MessageInFlight> messages = inFlight.remove(partition);
        if (messages != null) {
            messages.forEach(MessageInFlight::drop);
        }
    }

    /** True unless the last few sends failed and none succeeded since. */
    public boolean targetHealthy() {
        return failuresSinceAck.get() < 3;
    }

    public Duration sinceLastAcknowledged() {
        return Duration.ofNanos(System.nanoTime() - lastAckNanos.get());
    }

    /**
     * Stops the ticks and waits up to {@code timeout} for every submitted message to settle. Sends still
     * unacknowledged then are abandoned: never settled, so never checkpointed, and re-keyed again after a restart.
     * The target stays open (its owner closes it).
     *
     * @return true if everything settled in time
     */
    public boolean close(Duration timeout) throws InterruptedException {
        if (!closed.compareAndSet(false, true)) {
            return tracker.pending() == 0;
        }
        ticks.cancel(false);
        boolean settled = tracker.awaitDrained(System.nanoTime() + timeout.toNanos());
        if (!settled) {
            LOG.warn("shutdown deadline passed with {} messages unsettled; they were not checkpointed and will be "
                    + "re-keyed again after restart", tracker.pending());
        }
        inFlight.values().forEach(messages -> messages.forEach(MessageInFlight::drop));
        scheduler.shutdownNow();
        scheduler.awaitTermination(5, TimeUnit.SECONDS);
        return settled;
    }

    /**
     * One tick row to every partition. A round still unacknowledged when the next is due is not doubled: a tick
     * only says that time passed, and the next round says it again.
     */
    private void tick() {
        if (!tickRoundOut.compareAndSet(false, true)) {
            return;
        }
        try {
            List<String> partitions = target.partitions();
            if (partitions.isEmpty()) {
                tickRoundOut.set(false);
                return;
            }
            byte[] row = JoinRowCodec.write(new Tick(clock.instant(), settings.emitter()));
            AtomicInteger left = new AtomicInteger(partitions.size());
            for (String partition : partitions) {
                target.sendToPartition(partition, row).whenComplete((done, failure) -> {
                    if (failure == null) {
                        metrics.tick();
                    } else {
                        logFailure("tick to partition " + partition + " failed; the next round replaces it", failure);
                    }
                    if (left.decrementAndGet() == 0) {
                        tickRoundOut.set(false);
                    }
                });
            }
        } catch (RuntimeException e) {
            tickRoundOut.set(false);
            logFailure("cannot list the target's partitions for ticks; trying again next round", e);
        }
    }

    private void onSendRetry(Throwable failure, int attempt) {
        metrics.retry();
        failuresSinceAck.incrementAndGet();
        logFailure("send to " + target.describe() + " failed, retrying with backoff (attempt " + attempt + ")", failure);
    }

    private void logFailure(String what, Throwable failure) {
        long now = System.nanoTime();
        long last = lastFailureLogNanos.get();
        if (now - last >= FAILURE_LOG_INTERVAL_NANOS && lastFailureLogNanos.compareAndSet(last, now)) {
            LOG.warn("{}: {}", what, String.valueOf(rootCause(failure)));
        }
    }

    private static Throwable rootCause(Throwable failure) {
        Throwable t = failure;
        while (t.getCause() != null && t.getCause() != t
                && (t instanceof CompletionException || t instanceof FailsafeException)) {
            t = t.getCause();
        }
        return t;
    }

    private void deadLetter(String reason, SourceRecord source) throws InterruptedException {
        DeadLetter letter = new DeadLetter(clock.instant(), DeadLetter.Reason.INVALID_RECORD, reason, source.partition(),
                source.position().toString(), null, source.bytes(), null);
        deadLetterWriter.write(letter);
    }

    /** A message whose rows are out; settles its ticket when the last send is acknowledged. */
    private final class MessageInFlight {
        private final CheckpointTracker.Ticket ticket;
        private final AtomicInteger remaining;
        private final Set<MessageInFlight> home;
        private final List<CompletableFuture<Void>> sends = new CopyOnWriteArrayList<>();
        private volatile boolean dropped;

        MessageInFlight(CheckpointTracker.Ticket ticket, int sends, Set<MessageInFlight> home) {
            this.ticket = ticket;
            this.remaining = new AtomicInteger(sends);
            this.home = home;
        }

        /** Takes a send slot the caller acquired; gives it back when the send ends, acknowledged or dropped. */
        void send(String key, List<byte[]> rows) {
            metrics.inFlight(1);
            CompletableFuture<Void> send = Failsafe.with(sendRetry).with(scheduler)
                    .getStageAsync(() -> target.send(key, rows));
            sends.add(send);
            if (dropped) {
                send.cancel(true);
            }
            send.whenComplete((done, failure) -> {
                metrics.inFlight(-1);
                sendSlots.release();
                if (failure != null) {
                    return; // dropped (partition forgotten, or shutdown): never settled
                }
                metrics.rowsOut(rows.size());
                failuresSinceAck.set(0);
                lastAckNanos.set(System.nanoTime());
                if (remaining.decrementAndGet() == 0) {
                    home.remove(this);
                    tracker.settle(ticket);
                }
            });
        }

        void drop() {
            dropped = true;
            sends.forEach(send -> send.cancel(true));
        }
    }
}
