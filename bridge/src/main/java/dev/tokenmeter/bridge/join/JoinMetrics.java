package dev.tokenmeter.bridge.join;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.concurrent.atomic.DoubleAdder;
import java.util.function.ToDoubleFunction;

/** The join's meters ({@code tokenmeter_join_*} in Prometheus). */
public final class JoinMetrics implements JoinObserver {

    private final MeterRegistry registry;
    private final DistributionSummary lag;
    private final Counter joined;
    private final Counter corrections;
    private final Counter clamped;
    private final DoubleAdder joinedCount = new DoubleAdder();
    private final DoubleAdder noLogCount = new DoubleAdder();

    public JoinMetrics(MeterRegistry registry) {
        this.registry = registry;
        lag = DistributionSummary.builder("tokenmeter.join.lag").baseUnit("seconds")
                .description("Time between a streamed record and its LLM log row on the partition")
                .publishPercentileHistogram().register(registry);
        joined = records("joined", "none");
        for (EstimateReason reason : EstimateReason.values()) {
            records("estimated", reason.label());
        }
        corrections = Counter.builder("tokenmeter.join.late.corrections")
                .description("Estimates corrected by an LLM log row that came after the window").register(registry);
        clamped = Counter.builder("tokenmeter.join.clamped.tokens")
                .description("Tokens an estimate billed beyond the exact count (never refunded)").register(registry);
        for (RowOutcome outcome : RowOutcome.values()) {
            rows(outcome.label());
        }
        Gauge.builder("tokenmeter.join.hit.rate", this, m -> {
                    double hits = m.joinedCount.sum(), misses = m.noLogCount.sum();
                    return hits + misses == 0 ? Double.NaN : hits / (hits + misses);
                })
                .description("Share of records expecting exact usage whose LLM log row arrived within the window")
                .register(registry);
    }

    /** Registers the pending and watermark gauges for the whole pipeline. */
    public <T> void bindJoinState(T state, ToDoubleFunction<T> held, ToDoubleFunction<T> watermarkLagSeconds) {
        Gauge.builder("tokenmeter.join.pending", state, held)
                .description("Records and LLM log rows held for the join (checkpoints wait for them)").register(registry);
        Gauge.builder("tokenmeter.join.watermark.lag.seconds", state, watermarkLagSeconds)
                .description("Wall clock minus the oldest partition watermark: how far behind the join's time is")
                .register(registry);
    }

    @Override
    public void joined(double lagSeconds) {
        joined.increment();
        joinedCount.add(1);
        lag.record(lagSeconds);
    }

    @Override
    public void estimated(EstimateReason reason) {
        records("estimated", reason.label()).increment();
        if (reason == EstimateReason.NO_LLM_LOG) {
            noLogCount.add(1);
        }
    }

    @Override
    public void corrected(long clampedTokens) {
        corrections.increment();
        clamped.increment(clampedTokens);
    }

    @Override
    public void row(RowOutcome outcome) {
        rows(outcome.label()).increment();
    }

    private Counter records(String outcome, String reason) {
        return Counter.builder("tokenmeter.join.records").tag("outcome", outcome).tag("reason", reason)
                .description("Records that expected exact usage, by how they were billed").register(registry);
    }

    private Counter rows(String outcome) {
        return Counter.builder("tokenmeter.join.rows").tag("outcome", outcome)
                .description("LLM log rows that billed nothing, by why").register(registry);
    }
}
