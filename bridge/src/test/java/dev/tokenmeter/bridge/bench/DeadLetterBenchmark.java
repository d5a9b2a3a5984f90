package dev.tokenmeter.bridge.bench;

import dev.tokenmeter.bridge.deadletter.DirectoryDeadLetterStore;
import dev.tokenmeter.bridge.ledger.LedgerSink;
import dev.tokenmeter.bridge.mapping.EventSettings;
import dev.tokenmeter.bridge.mapping.RequestEventMapper;
import dev.tokenmeter.bridge.pipeline.CheckpointTracker;
import dev.tokenmeter.bridge.pipeline.DeliveryListener;
import dev.tokenmeter.bridge.pipeline.Pipeline;
import dev.tokenmeter.bridge.pipeline.PipelineMetrics;
import dev.tokenmeter.bridge.pipeline.PipelineSettings;
import dev.tokenmeter.bridge.source.FileSource;
import dev.tokenmeter.bridge.support.Records;
import dev.tokenmeter.usage.UsageRecordParser;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.io.BufferedOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.function.IntFunction;

/**
 * How fast a file drains when its records are all valid (to the local ledger) against when they are all invalid
 * (every one a dead letter in a directory, durable before the checkpoint may pass it): file source -> pipeline,
 * as the bridge's file mode runs. A main, not a test; part of {@code bridge/bench.sh}, or alone:
 * {@code java -cp ... dev.tokenmeter.bridge.bench.DeadLetterBenchmark [records]}.
 */
public final class DeadLetterBenchmark {

    public static void main(String[] args) throws Exception {
        run(args.length > 0 ? Integer.parseInt(args[0]) : 100_000);
    }

    static void run(int records) throws Exception {
        double valid = drain("file drain, valid records -> ledger", records, Records::valid);
        double invalid = drain("file drain, invalid records -> dead letters", records, DeadLetterBenchmark::invalid);
        System.out.printf("invalid / valid drain rate: %.2f%n", invalid / valid);
        // what is left of the gap: a refused record is parsed again by the JSON Schema validator for its message
        double parseValid = parse(records, Records::valid);
        double parseInvalid = parse(records, DeadLetterBenchmark::invalid);
        System.out.printf("%-45s %,10.0f / %,.0f records/s (invalid / valid: %.2f)%n", "parse only, valid / invalid, 1 thread",
                parseValid, parseInvalid, parseInvalid / parseValid);
    }

    private static double parse(int records, IntFunction<byte[]> record) {
        UsageRecordParser parser = new UsageRecordParser();
        byte[][] input = new byte[Math.min(records, 10_000)][];
        for (int i = 0; i < input.length; i++) {
            input[i] = record.apply(i);
        }
        long start = System.nanoTime();
        long sink = 0;
        for (int i = 0; i < records; i++) {
            sink += parser.parse(input[i % input.length]).hashCode() & 1;
        }
        double rate = records / ((System.nanoTime() - start) / 1e9);
        return sink < 0 ? -1 : rate;
    }

    /** Record {@code i} with a negative completion count: refused by the contract, but with its request id. */
    static byte[] invalid(int i) {
        return new String(Records.valid(i), StandardCharsets.UTF_8)
                .replace("\"completion_tokens\":50", "\"completion_tokens\":-50").getBytes(StandardCharsets.UTF_8);
    }

    private static double drain(String name, int records, IntFunction<byte[]> record) throws Exception {
        Path dir = Files.createTempDirectory("tokenmeter-bench-dl");
        try {
            Path file = dir.resolve("records.jsonl");
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
                for (int i = 0; i < records; i++) {
                    out.write(record.apply(i));
                    out.write('\n');
                }
            }
            DirectoryDeadLetterStore deadLetters = new DirectoryDeadLetterStore(dir.resolve("dead"));
            CheckpointTracker tracker = new CheckpointTracker((p, pos) -> { });
            Pipeline pipeline = new Pipeline(PipelineSettings.defaults(), new UsageRecordParser(),
                    new RequestEventMapper(new EventSettings(null, null)), new LedgerSink(dir.resolve("ledger.jsonl")),
                    deadLetters, tracker, new PipelineMetrics(new SimpleMeterRegistry()), DeliveryListener.NONE,
                    Clock.systemUTC());
            FileSource source = new FileSource(file.toString(), System.in);
            long start = System.nanoTime();
            source.run(pipeline);
            boolean settled = pipeline.close(Duration.ofMinutes(10));
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf("%-45s %,10.0f records/s (%,d records in %.1f s, all settled: %s, %,d dead letters)%n",
                    name, records / seconds, records, seconds, settled && tracker.pending() == 0, deadLetters.written());
            return records / seconds;
        } finally {
            try (var walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
