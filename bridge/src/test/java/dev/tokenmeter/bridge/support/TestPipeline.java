package dev.tokenmeter.bridge.support;

import dev.tokenmeter.bridge.deadletter.DeadLetterStore;
import dev.tokenmeter.bridge.deadletter.DirectoryDeadLetterStore;
import dev.tokenmeter.bridge.mapping.EventSettings;
import dev.tokenmeter.bridge.mapping.RequestEventMapper;
import dev.tokenmeter.bridge.pipeline.CheckpointListener;
import dev.tokenmeter.bridge.pipeline.CheckpointTracker;
import dev.tokenmeter.bridge.pipeline.DeliveryListener;
import dev.tokenmeter.bridge.pipeline.Pipeline;
import dev.tokenmeter.bridge.pipeline.PipelineMetrics;
import dev.tokenmeter.bridge.pipeline.PipelineSettings;
import dev.tokenmeter.bridge.pipeline.Position;
import dev.tokenmeter.bridge.sink.Sink;
import dev.tokenmeter.usage.UsageRecordParser;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** A pipeline wired like BridgeMain does it, with the pieces a test wants to look at kept at hand. */
public final class TestPipeline {

    public final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    public final Map<String, Position> checkpoints = new ConcurrentHashMap<>();
    public final DeadLetterStore deadLetters;
    public final Pipeline pipeline;

    public TestPipeline(Sink sink, Path deadLetterDir, PipelineSettings settings) throws IOException {
        this(sink, deadLetterDir, settings, (partition, position) -> { });
    }

    public TestPipeline(Sink sink, Path deadLetterDir, PipelineSettings settings, CheckpointListener also)
            throws IOException {
        this(sink, new DirectoryDeadLetterStore(deadLetterDir), settings, also);
    }

    public TestPipeline(Sink sink, DeadLetterStore deadLetters, PipelineSettings settings, CheckpointListener also) {
        this.deadLetters = deadLetters;
        CheckpointTracker tracker = new CheckpointTracker((partition, position) -> {
            checkpoints.merge(partition, position, (old, now) -> {
                if (now.sequence() < old.sequence()) {
                    throw new AssertionError("safe position went backwards in " + partition + ": " + old + " -> " + now);
                }
                return now;
            });
            also.safeToCheckpoint(partition, position);
        });
        pipeline = new Pipeline(settings, new UsageRecordParser(), new RequestEventMapper(new EventSettings(null, null)),
                sink, deadLetters, tracker, new PipelineMetrics(registry),
                DeliveryListener.NONE, Clock.systemUTC());
    }

    public static PipelineSettings settings(int batchEvents, int inFlight) {
        return new PipelineSettings(batchEvents, 1024 * 1024, Duration.ofMillis(50), inFlight,
                Duration.ofMillis(20), Duration.ofMillis(200));
    }

    /**
     * Batches that close only when full or on {@code flush()}: on a busy machine a 50 ms linger can close a batch
     * midway through a test's submissions, so a test that names batch boundaries (and checkpoint positions) uses these.
     */
    public static PipelineSettings countedBatches(int batchEvents, int inFlight) {
        return new PipelineSettings(batchEvents, 1024 * 1024, Duration.ofMinutes(10), inFlight,
                Duration.ofMillis(20), Duration.ofMillis(200));
    }

    /** Value of a Prometheus sample line, e.g. {@code tokenmeter_records_in_total}, or -1 when absent. */
    public double metric(String sample) {
        for (String line : registry.scrape().split("\n")) {
            if (line.startsWith(sample + " ")) {
                return Double.parseDouble(line.substring(sample.length() + 1).trim());
            }
        }
        return -1;
    }

}
