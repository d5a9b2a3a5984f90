package dev.tokenmeter.bridge.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.tokenmeter.bridge.deadletter.DirectoryDeadLetterStore;
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
 *   <li>end to end: a JSONL file -> file source -> pipeline -> OpenMeter sink -> a local HTTP server that answers 204.</li>
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
