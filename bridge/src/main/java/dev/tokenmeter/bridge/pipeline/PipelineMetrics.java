package dev.tokenmeter.bridge.pipeline;

import dev.tokenmeter.bridge.deadletter.DeadLetter;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/** The core's meters, named so Prometheus shows them as {@code tokenmeter_*}. */
public final class PipelineMetrics {

    private final MeterRegistry registry;
    private final Counter recordsIn;
    private final Counter eventsSent;
    private final Timer batchLatency;
    private final AtomicInteger inFlight = new AtomicInteger();

    public PipelineMetrics(MeterRegistry registry) {
        this.registry = registry;
        recordsIn = Counter.builder("tokenmeter.records.in").description("Usage records received from the source")
                .register(registry);
        eventsSent = Counter.builder("tokenmeter.events.sent").description("CloudEvents acknowledged by the sink")
                .register(registry);
        batchLatency = Timer.builder("tokenmeter.batch.latency")
                .description("Time from a batch being closed to its acknowledgement, retries included")
                .publishPercentileHistogram()
                .register(registry);
        registry.gauge("tokenmeter.requests.in.flight", inFlight);
        for (DeadLetter.Reason reason : DeadLetter.Reason.values()) {
            deadLetterCounter(reason);
        }
    }

    void bindCheckpointLag(Supplier<Number> pending) {
        io.micrometer.core.instrument.Gauge.builder("tokenmeter.checkpoint.lag.records", pending)
                .description("Records received but not yet safe to checkpoint")
                .register(registry);
    }

    void recordIn() {
        recordsIn.increment();
    }

    void eventsSent(int count) {
        eventsSent.increment(count);
    }

    void deadLetter(DeadLetter.Reason reason) {
        deadLetterCounter(reason).increment();
    }

    void retry(String cause) {
        Counter.builder("tokenmeter.retries").description("Batch sends retried, by cause").tag("cause", cause)
                .register(registry).increment();
    }

    void batchDone(long startNanos) {
        batchLatency.record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
    }

    void inFlight(int delta) {
        inFlight.addAndGet(delta);
    }

    private Counter deadLetterCounter(DeadLetter.Reason reason) {
        return Counter.builder("tokenmeter.dead.letters").description("Dead letters written, by reason")
                .tag("reason", reason.label()).register(registry);
    }
}
