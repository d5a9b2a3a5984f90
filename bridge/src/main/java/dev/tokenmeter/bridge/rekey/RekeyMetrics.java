package dev.tokenmeter.bridge.rekey;

import dev.tokenmeter.bridge.llmlog.SkipReason;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/** The re-key stage's meters, {@code tokenmeter_rekey_*} in Prometheus. */
public final class RekeyMetrics {

    private final MeterRegistry registry;
    private final Counter messagesIn;
    private final Counter unparseable;
    private final Counter rowsOut;
    private final Counter ticks;
    private final Counter retries;
    private final Map<SkipReason, Counter> skipped = new EnumMap<>(SkipReason.class);
    private final AtomicInteger inFlight = new AtomicInteger();

    public RekeyMetrics(MeterRegistry registry) {
        this.registry = registry;
        messagesIn = Counter.builder("tokenmeter.rekey.messages.in")
                .description("Messages read from the diagnostic hub").register(registry);
        unparseable = Counter.builder("tokenmeter.rekey.messages.unparseable")
                .description("Messages that were not diagnostic log messages, kept as dead letters").register(registry);
        rowsOut = Counter.builder("tokenmeter.rekey.rows.out")
                .description("llm_usage rows acknowledged by the usage hub").register(registry);
        ticks = Counter.builder("tokenmeter.rekey.ticks")
                .description("Tick rows acknowledged, one per partition per interval").register(registry);
        retries = Counter.builder("tokenmeter.rekey.send.retries")
                .description("Sends of llm_usage rows retried after a failure").register(registry);
        for (SkipReason reason : SkipReason.values()) {
            skipped.put(reason, Counter.builder("tokenmeter.rekey.rows.skipped")
                    .description("Log records that did not become llm_usage rows, by reason")
                    .tag("reason", reason.label()).register(registry));
        }
        Gauge.builder("tokenmeter.rekey.sends.in.flight", inFlight, AtomicInteger::get)
                .description("Sends awaiting acknowledgement").register(registry);
    }

    void bindCheckpointLag(Supplier<Number> pending) {
        Gauge.builder("tokenmeter.rekey.checkpoint.lag.messages", pending)
                .description("Messages read but not yet safe to checkpoint").register(registry);
    }

    void messageIn() {
        messagesIn.increment();
    }

    void unparseable() {
        unparseable.increment();
    }

    /** Rows acknowledged so far (for the end-of-run summary of a file). */
    public long rowsOut() {
        return (long) rowsOut.count();
    }

    void rowsOut(int rows) {
        rowsOut.increment(rows);
    }

    void skipped(SkipReason reason) {
        skipped.get(reason).increment();
    }

    void tick() {
        ticks.increment();
    }

    void retry() {
        retries.increment();
    }

    void inFlight(int delta) {
        inFlight.addAndGet(delta);
    }
}
