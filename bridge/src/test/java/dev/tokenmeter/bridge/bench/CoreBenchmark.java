package dev.tokenmeter.bridge.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.tokenmeter.bridge.deadletter.DirectoryDeadLetterStore;
import dev.tokenmeter.bridge.join.JoinObserver;
import dev.tokenmeter.bridge.join.JoinRowCodec;
import dev.tokenmeter.bridge.join.JoinSettings;
import dev.tokenmeter.bridge.join.LlmUsage;
import dev.tokenmeter.bridge.mapping.EventMapper;
import dev.tokenmeter.bridge.mapping.EventSettings;
import dev.tokenmeter.bridge.mapping.OutgoingEvent;
import dev.tokenmeter.bridge.mapping.RequestEventMapper;
import dev.tokenmeter.bridge.openmeter.OpenMeterSink;
import dev.tokenmeter.bridge.pipeline.CheckpointTracker;
import dev.tokenmeter.bridge.pipeline.DeliveryListener;
import dev.tokenmeter.bridge.pipeline.Pipeline;
import dev.tokenmeter.bridge.pipeline.PipelineMetrics;
import dev.tokenmeter.bridge.pipeline.PipelineSettings;
import dev.tokenmeter.bridge.pipeline.Position;
import dev.tokenmeter.bridge.pipeline.SourceRecord;
import dev.tokenmeter.bridge.sink.SendResult;
import dev.tokenmeter.bridge.sink.Sink;
import dev.tokenmeter.bridge.source.FileSource;
import dev.tokenmeter.bridge.support.Records;
import dev.tokenmeter.usage.ParseResult;
import dev.tokenmeter.usage.UsageRecordParser;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.io.BufferedOutputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A rerunnable benchmark of the bridge core (not a test). Prints records/s and memory for:
 * <ol>
 *   <li>baseline: plain Jackson parse + write of the same bytes, one thread;</li>
 *   <li>core: parse -> validate -> map -> serialize CloudEvent, one thread;</li>
 *   <li>end to end: a JSONL file -> file source -> pipeline -> OpenMeter sink -> a local HTTP server that answers 204;</li>
 *   <li>a file of valid records against one of invalid records, each a durable dead letter ({@link DeadLetterBenchmark});</li>
 *   <li>the join: the pipeline on one submitting thread (a sink that acknowledges at once), half the records streamed
 *   and joined with their LLM log row, against the same records with the join off; and the heap each record
 *   waiting for its row costs.</li>
 * </ol>
 * Run: {@code bridge/bench.sh [records] [seconds per phase]} (its own JVM: inside Maven the numbers are noisier).
 */
public final class CoreBenchmark {

    public static void main(String[] args) throws Exception {
        int records = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        byte[][] input = new byte[10_000][];
        for (int i = 0; i < input.length; i++) {
            input[i] = Records.valid(i);
        }
        System.out.printf("CPU cores: %d, JVM %s, max heap %d MiB%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.version"), Runtime.getRuntime().maxMemory() >> 20);

        ObjectMapper jackson = new ObjectMapper();
        double baseline = measure("baseline: Jackson parse + write", seconds, input, bytes -> {
            JsonNode node = jackson.readTree(bytes);
            return jackson.writeValueAsBytes(node).length;
        });

        UsageRecordParser parser = new UsageRecordParser();
        EventMapper mapper = new RequestEventMapper(new EventSettings(null, null));
        double core = measure("core: parse + validate + map + serialize", seconds, input, bytes -> {
            ParseResult result = parser.parse(bytes);
            OutgoingEvent event = mapper.map(((ParseResult.Valid) result).record()).get(0);
            return event.json().length;
        });
        System.out.printf("core / baseline: %.2f%n", core / baseline);

        endToEnd(records);
        DeadLetterBenchmark.run(Math.max(1, records / 5));
        join(seconds);
        heapPerPendingRecord(200_000);
    }


    static byte[] row(int i) {
        return JoinRowCodec.write(new LlmUsage(Records.requestId(i), java.time.Instant.parse("2026-11-27T08:00:05Z"),
                "gpt-4o", "gpt-4o-2024-08-06", "2024-10-21", true, 100 + i, 57, 157 + i, 0L, "chatcmpl-" + i));
    }

    /**
     * Half the records streamed: each streamed record is followed 50 messages later by its row, so about 25 wait
     * at any time. Both runs submit the same records; the join-off run gets no rows.
     */
    private static void join(int seconds) throws Exception {
        int n = 20_000;
        java.util.List<byte[]> withJoin = new java.util.ArrayList<>();
        java.util.List<byte[]> withoutJoin = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] record = i % 2 == 0 ? Records.streamed(i) : Records.valid(i);
            withJoin.add(record);
            withoutJoin.add(record);
            if (i % 2 == 0 && i >= 50) {
                withJoin.add(row(i - 50));
            }
        }
        double off = measurePipeline("pipeline, 1 submitting thread, join off", seconds, withoutJoin, JoinSettings.off());
        double on = measurePipeline("pipeline, 1 submitting thread, half joined", seconds, withJoin,
                new JoinSettings(true, Duration.ofDays(365), Duration.ZERO, Long.MAX_VALUE));
        System.out.printf("join on / join off (records/s): %.2f%n", on / off);
    }

    /** Records (not messages) per second through the pipeline; rows count as work, not as records. */
    private static double measurePipeline(String name, int seconds, java.util.List<byte[]> messages, JoinSettings join)
            throws Exception {
        long recordsPerPass = messages.stream().filter(m -> !JoinRowCodec.mayBeJoinRow(m)).count();
        Sink acknowledging = batch -> SendResult.ACCEPTED;
        Path dead = Files.createTempDirectory("tokenmeter-bench-dead");
        Pipeline pipeline = new Pipeline(new PipelineSettings(500, 1 << 20, Duration.ofMillis(50), 4,
                Duration.ofMillis(200), Duration.ofSeconds(30)), new UsageRecordParser(),
                new RequestEventMapper(new EventSettings(null, null)), acknowledging, new DirectoryDeadLetterStore(dead),
                new CheckpointTracker((p, pos) -> { }), new PipelineMetrics(new SimpleMeterRegistry()),
                DeliveryListener.NONE, Clock.systemUTC(), join, JoinObserver.NONE, null);
        long records = 0;
        long position = 0;
        long warmupEnd = System.nanoTime() + Duration.ofSeconds(Math.max(1, seconds / 3)).toNanos();
        long start = 0;
        long end = Long.MAX_VALUE;
        boolean measuring = false;
        java.time.Instant time = java.time.Instant.parse("2026-11-27T08:00:00Z");
        // each pass over the messages is a fresh partition, so request ids never repeat within one
        for (int pass = 0; System.nanoTime() < end; pass++) {
            String partition = Integer.toString(pass);
            for (byte[] message : messages) {
                pipeline.submit(new SourceRecord(partition, Position.of(position++), message, time));
            }
            records += recordsPerPass;
            if (!measuring && System.nanoTime() > warmupEnd) {
                measuring = true;
                records = 0;
                start = System.nanoTime();
                end = start + Duration.ofSeconds(seconds).toNanos();
            }
        }
        double perSecond = records / ((System.nanoTime() - start) / 1e9);
        // the join run's last records wait for rows that never come: nothing to wait for at the end
        pipeline.close(join.enabled() ? Duration.ZERO : Duration.ofSeconds(30));
        System.out.printf("%-45s %,10.0f records/s%n", name, perSecond);
        return perSecond;
    }

    /** Heap per record waiting for its row: records submitted with no rows, against the heap before. */
    private static void heapPerPendingRecord(int n) throws Exception {
        Path dead = Files.createTempDirectory("tokenmeter-bench-dead");
        Pipeline pipeline = new Pipeline(PipelineSettings.defaults(), new UsageRecordParser(),
                new RequestEventMapper(new EventSettings(null, null)), batch -> SendResult.ACCEPTED,
                new DirectoryDeadLetterStore(dead), new CheckpointTracker((p, pos) -> { }),
                new PipelineMetrics(new SimpleMeterRegistry()), DeliveryListener.NONE, Clock.systemUTC(),
                new JoinSettings(true, Duration.ofDays(365), Duration.ZERO, Long.MAX_VALUE), JoinObserver.NONE, null);
        byte[][] records = new byte[n][];
        for (int i = 0; i < n; i++) {
            records[i] = Records.streamed(i);
        }
        long before = usedHeapAfterGc();
        java.time.Instant time = java.time.Instant.parse("2026-11-27T08:00:00Z");
        for (int i = 0; i < n; i++) {
            // a copy, as a source hands over fresh bytes: whatever the pipeline keeps of them is counted
            pipeline.submit(new SourceRecord("0", Position.of(i), records[i].clone(), time));
        }
        long after = usedHeapAfterGc();
        long perRecord = (after - before) / n;
        System.out.printf("heap per record waiting for its row: %,d bytes (%,d records held: %,d MiB; each record "
                + "is %d bytes of JSON)%n", perRecord, pipeline.joinHeld(), (after - before) >> 20, records[0].length);
        System.out.printf("at 5,000 streamed records/s: W = 20 min holds 6,000,000 (%,d MiB); W + late window "
                + "(30 min) 9,000,000 (%,d MiB)%n", perRecord * 6_000_000L >> 20, perRecord * 9_000_000L >> 20);
        pipeline.close(Duration.ZERO);
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    @FunctionalInterface
    interface Work {
        int run(byte[] bytes) throws Exception;
    }

    private static double measure(String name, int seconds, byte[][] input, Work work) throws Exception {
        long sink = 0;
        // warm up the JIT for a third of the time, then measure
        long warmupEnd = System.nanoTime() + Duration.ofSeconds(Math.max(1, seconds / 3)).toNanos();
        for (int i = 0; System.nanoTime() < warmupEnd; i++) {
            sink += work.run(input[i % input.length]);
        }
        long n = 0;
        long start = System.nanoTime();
        long end = start + Duration.ofSeconds(seconds).toNanos();
        while (System.nanoTime() < end) {
            for (int i = 0; i < 1000; i++) {
                sink += work.run(input[(int) (n++ % input.length)]);
            }
        }
        double perSecond = n / ((System.nanoTime() - start) / 1e9);
        System.out.printf("%-45s %,10.0f records/s on 1 thread   (checksum %d)%n", name, perSecond, sink % 10);
        return perSecond;
    }

    private static void endToEnd(int records) throws Exception {
        Path dir = Files.createTempDirectory("tokenmeter-bench");
        Path file = dir.resolve("records.jsonl");
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            for (int i = 0; i < records; i++) {
                out.write(Records.valid(i));
                out.write('\n');
            }
        }
        AtomicLong received = new AtomicLong();
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        var serverThreads = Executors.newFixedThreadPool(4);
        server.setExecutor(serverThreads);
        server.createContext("/api/v1/events", exchange -> {
            try (exchange) {
                received.addAndGet(exchange.getRequestBody().readAllBytes().length);
                exchange.sendResponseHeaders(204, -1);
            }
        });
        server.start();
        try {
            OpenMeterSink sink = new OpenMeterSink(URI.create("http://127.0.0.1:" + server.getAddress().getPort()),
                    null, Duration.ofSeconds(30));
            PipelineSettings settings = PipelineSettings.defaults();
            Pipeline pipeline = new Pipeline(settings, new UsageRecordParser(),
                    new RequestEventMapper(new EventSettings(null, null)), sink,
                    new DirectoryDeadLetterStore(dir.resolve("dead")), new CheckpointTracker((p, pos) -> { }),
                    new PipelineMetrics(new SimpleMeterRegistry()), DeliveryListener.NONE, Clock.systemUTC());
            FileSource source = new FileSource(file.toString(), System.in);
            long start = System.nanoTime();
            source.run(pipeline);
            boolean settled = pipeline.close(Duration.ofMinutes(5));
            double secondsTaken = (System.nanoTime() - start) / 1e9;
            var heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
            System.out.printf("%-45s %,10.0f records/s (%,d records in %.1f s, all acknowledged: %s, %,d MiB sent)%n",
                    "end to end: file -> bridge -> local HTTP sink", records / secondsTaken, records, secondsTaken,
                    settled, received.get() >> 20);
            System.out.printf("heap used after run: %d MiB of %d MiB committed; peak RSS: %s%n", heap.getUsed() >> 20,
                    heap.getCommitted() >> 20, peakRss());
        } finally {
            server.stop(0);
            serverThreads.shutdownNow();
            try (var walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static String peakRss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return line.substring(6).trim();
                }
            }
        } catch (Exception unavailable) {
            // not Linux
        }
        return "n/a";
    }
}
