package dev.tokenmeter.bridge.bench;

import com.sun.net.httpserver.HttpServer;
import dev.tokenmeter.bridge.source.testing.BridgeProcess;
import dev.tokenmeter.bridge.source.testing.KafkaBroker;
import dev.tokenmeter.bridge.support.Records;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Kafka -> bridge (a child process, as deployed) -> a local OpenMeter-like sink that answers 204 at once.
 * Measures sustained records/s on a backlog, produce-to-acknowledgement latency at 5,000 records/s, and the
 * bridge's resident memory under load and during a 60-second sink outage (503s) with producers still at 5,000/s.
 * Not a test: run it by hand on an otherwise idle machine, from the repository root:
 *
 * <pre>./mvnw -q -B install -DskipTests &amp;&amp; ./mvnw -q -B -pl bridge test-compile exec:java \
 *     -Dexec.classpathScope=test -Dexec.mainClass=dev.tokenmeter.bridge.bench.KafkaBridgeBenchmark</pre>
 *
 * Optional: -Dbench.backlog=300000 -Dbench.rateSeconds=30 -Dbench.outageSeconds=60.
 */
public final class KafkaBridgeBenchmark {

    private static final Pattern ID = Pattern.compile("\"id\":\"00000000-0000-4000-8000-(\\d{12})\"");
    private static final int RATE = 5_000;

    private final AtomicLongArray arrivedNanos;
    private final AtomicInteger distinct = new AtomicInteger();
    private volatile boolean outage;
    private final AtomicLong refused = new AtomicLong();

    private KafkaBridgeBenchmark(int capacity) {
        arrivedNanos = new AtomicLongArray(capacity);
    }

    public static void main(String[] args) throws Exception {
        int backlog = Integer.getInteger("bench.backlog", 300_000);
        int rateSeconds = Integer.getInteger("bench.rateSeconds", 30);
        int outageSeconds = Integer.getInteger("bench.outageSeconds", 60);
        int total = backlog + RATE * rateSeconds + RATE * outageSeconds;
        new KafkaBridgeBenchmark(total).run(backlog, rateSeconds, outageSeconds);
        System.exit(0);
    }

    private void run(int backlog, int rateSeconds, int outageSeconds) throws Exception {
        Path dir = Files.createTempDirectory("tokenmeter-bench-");
        HttpServer sink = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        sink.setExecutor(Executors.newFixedThreadPool(4));
        sink.createContext("/api/v1/events", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            if (outage) {
                refused.incrementAndGet();
                exchange.sendResponseHeaders(503, -1);
                exchange.close();
                return;
            }
            long now = System.nanoTime();
            Matcher m = ID.matcher(new String(body, StandardCharsets.UTF_8));
            while (m.find()) {
                int i = Integer.parseInt(m.group(1));
                if (arrivedNanos.compareAndSet(i, 0, now)) {
                    distinct.incrementAndGet();
                }
            }
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        sink.start();
        try (KafkaBroker broker = KafkaBroker.start()) {
            broker.createTopic("usage", 4);
            System.out.printf("producing a backlog of %,d records...%n", backlog);
            broker.produce("usage", 0, backlog, Records::valid);
            Map<String, String> env = Map.of(
                    "TOKENMETER_SOURCE", "kafka",
                    "TOKENMETER_KAFKA_BOOTSTRAP_SERVERS", broker.bootstrapServers(),
                    "TOKENMETER_KAFKA_TOPIC", "usage",
                    "TOKENMETER_OPENMETER_URL", "http://127.0.0.1:" + sink.getAddress().getPort(),
                    "TOKENMETER_DEAD_LETTER_DIR", dir.resolve("dead-letters").toString(),
                    "TOKENMETER_HTTP_PORT", "0",
                    "TOKENMETER_LOG_FORMAT", "text",
                    // so the catch-up after the outage is measured in seconds, not in the default 30 s backoff
                    "TOKENMETER_RETRY_MAX_BACKOFF_MS", "2000");
            try (BridgeProcess bridge = BridgeProcess.start(env, dir.resolve("bridge.log"))) {
                long maxRss = 0;
                // 1. sustained throughput on the backlog
                while (distinct.get() == 0) {
                    Thread.sleep(5);
                }
                long first = System.nanoTime();
                while (distinct.get() < backlog) {
                    Thread.sleep(100);
                    maxRss = Math.max(maxRss, bridge.rssKib());
                }
                double seconds = (System.nanoTime() - first) / 1e9;
                System.out.printf("sustained: %,d records in %.1f s = %,.0f records/s; max RSS %,d MiB%n", backlog,
                        seconds, backlog / seconds, maxRss / 1024);

                // 2. latency at 5,000 records/s
                long[] sent = new long[RATE * (rateSeconds + outageSeconds)];
                int from = backlog;
                long rssDuringRate;
                try (KafkaProducer<byte[], byte[]> producer = broker.producer()) {
                    rssDuringRate = produceAtRate(producer, bridge, from, RATE * rateSeconds, sent, 0);
                }
                waitFor(from + RATE * rateSeconds);
                long[] latencies = new long[RATE * rateSeconds];
                for (int k = 0; k < latencies.length; k++) {
                    latencies[k] = arrivedNanos.get(from + k) - sent[k];
                }
                Arrays.sort(latencies);
                System.out.printf("at %,d records/s for %d s: produce-to-ack p50 %d ms, p99 %d ms, max %d ms; "
                                + "max RSS %,d MiB%n", RATE, rateSeconds, latencies[latencies.length / 2] / 1_000_000,
                        latencies[latencies.length * 99 / 100] / 1_000_000, latencies[latencies.length - 1] / 1_000_000,
                        rssDuringRate / 1024);

                // 3. sink outage while producers go on
                int outageFrom = from + RATE * rateSeconds;
                outage = true;
                long rssDuringOutage;
                try (KafkaProducer<byte[], byte[]> producer = broker.producer()) {
                    rssDuringOutage = produceAtRate(producer, bridge, outageFrom, RATE * outageSeconds, sent,
                            RATE * rateSeconds);
                }
                outage = false;
                long recovering = System.nanoTime();
                waitFor(outageFrom + RATE * outageSeconds);
                System.out.printf("sink outage of %d s at %,d records/s: max RSS during it %,d MiB (%,d requests "
                                + "refused); backlog of %,d delivered %.1f s after the sink came back%n",
                        outageSeconds, RATE, rssDuringOutage / 1024, refused.get(), RATE * outageSeconds,
                        (System.nanoTime() - recovering) / 1e9);
                bridge.terminate(java.time.Duration.ofSeconds(30));
            }
        } finally {
            sink.stop(0);
        }
    }

    /** Sends {@code count} records at RATE per second, paced; returns the bridge's max RSS in KiB meanwhile. */
    private long produceAtRate(KafkaProducer<byte[], byte[]> producer, BridgeProcess bridge, int from, int count,
                               long[] sent, int sentOffset) throws InterruptedException {
        long start = System.nanoTime();
        long maxRss = 0;
        long nextRss = start;
        for (int k = 0; k < count; k++) {
            long due = start + k * 1_000_000_000L / RATE;
            long wait = due - System.nanoTime();
            if (wait > 0) {
                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            }
            int i = from + k;
            sent[sentOffset + k] = System.nanoTime();
            producer.send(new ProducerRecord<>("usage", Integer.toString(i).getBytes(), Records.valid(i)));
            if (System.nanoTime() > nextRss) {
                maxRss = Math.max(maxRss, bridge.rssKib());
                nextRss = System.nanoTime() + 500_000_000L;
            }
        }
        producer.flush();
        return maxRss;
    }

    private void waitFor(int records) throws InterruptedException {
        long deadline = System.nanoTime() + 600_000_000_000L;
        while (distinct.get() < records) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("only " + distinct.get() + " of " + records + " delivered in 10 min");
            }
            Thread.sleep(20);
        }
    }
}
