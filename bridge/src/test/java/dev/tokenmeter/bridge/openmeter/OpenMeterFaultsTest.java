package dev.tokenmeter.bridge.openmeter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenmeter.bridge.pipeline.Position;
import dev.tokenmeter.bridge.pipeline.SourceRecord;
import dev.tokenmeter.bridge.support.Eventually;
import dev.tokenmeter.bridge.support.Records;
import dev.tokenmeter.bridge.support.TestPipeline;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import dev.tokenmeter.testkit.OpenMeterContractServer.Reply;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * OpenMeter misbehaving in every way the issue lists. Whatever happens: every valid record reaches the server at
 * least once, every copy of an id carries the same content, rejected events are dead letters, and the number of
 * requests in flight never exceeds the bound.
 */
class OpenMeterFaultsTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private OpenMeterContractServer openMeter;

    @AfterEach
    void stop() {
        if (openMeter != null) {
            openMeter.close();
        }
    }

    private TestPipeline pipelineTo(Path dir, int batchEvents, int inFlight, Duration requestTimeout) throws IOException {
        return new TestPipeline(new OpenMeterSink(openMeter.baseUri(), null, requestTimeout), dir.resolve("dead"),
                TestPipeline.settings(batchEvents, inFlight));
    }

    private static void submit(TestPipeline t, int from, int to) throws InterruptedException {
        for (int i = from; i < to; i++) {
            t.pipeline.submit(new SourceRecord("p" + (i % 3), Position.of(i), Records.valid(i)));
        }
    }

    /** Every id at least once, and every copy of an id byte-for-byte the same event. */
    private void assertDeliveredExactlyTheRecords(int count, Set<String> except) {
        assertThat(openMeter.violations()).isEmpty();
        Map<String, JsonNode> firstCopy = new HashMap<>();
        for (JsonNode event : openMeter.ingestedEvents()) {
            JsonNode earlier = firstCopy.putIfAbsent(event.get("id").asText(), event);
            if (earlier != null) {
                assertThat(event).as("redelivered " + event.get("id")).isEqualTo(earlier);
            }
        }
        Set<String> expected = IntStream.range(0, count).mapToObj(Records::requestId)
                .filter(id -> !except.contains(id)).collect(Collectors.toSet());
        assertThat(firstCopy.keySet()).containsExactlyInAnyOrderElementsOf(expected);
    }

    @Test
    void unavailableForAWhileThenEverythingArrives(@TempDir Path dir) throws Exception {
        openMeter = OpenMeterContractServer.start();
        AtomicInteger calls = new AtomicInteger();
        openMeter.route("POST", "/api/v1/events", r -> calls.incrementAndGet() <= 6
                ? Reply.problem(503, "maintenance") : Reply.of(204));
        TestPipeline t = pipelineTo(dir, 10, 2, Duration.ofSeconds(5));
        submit(t, 0, 100);
        assertThat(t.pipeline.close(Duration.ofSeconds(30))).isTrue();

        assertDeliveredExactlyTheRecords(100, Set.of());
        assertThat(t.metric("tokenmeter_retries_total{cause=\"http_503\"}")).isGreaterThanOrEqualTo(6);
        assertThat(t.checkpoints).containsEntry("p0", Position.of(99)).containsEntry("p1", Position.of(97));
    }

    @Test
    void tooManyRequestsWaitsAsLongAsRetryAfterSays(@TempDir Path dir) throws Exception {
        openMeter = OpenMeterContractServer.start();
        AtomicInteger calls = new AtomicInteger();
        List<Long> arrivals = new CopyOnWriteArrayList<>();
        openMeter.route("POST", "/api/v1/events", r -> {
            arrivals.add(System.nanoTime());
            return calls.incrementAndGet() == 1
                    ? new Reply(429, Map.of("Retry-After", "1", "Content-Type", "application/problem+json"),
                    "{\"title\":\"rate limited\",\"status\":429}")
                    : Reply.of(204);
        });
        TestPipeline t = pipelineTo(dir, 100, 1, Duration.ofSeconds(5));
        submit(t, 0, 20);
        assertThat(t.pipeline.close(Duration.ofSeconds(30))).isTrue();

        assertDeliveredExactlyTheRecords(20, Set.of());
        // our own backoff starts at 20 ms here: a gap of a second can only come from Retry-After
        assertThat(Duration.ofNanos(arrivals.get(1) - arrivals.get(0))).isGreaterThanOrEqualTo(Duration.ofMillis(950));
    }

    @Test
    void retryAfterPausesEverySendNotOnlyTheRefusedBatch(@TempDir Path dir) throws Exception {
        openMeter = OpenMeterContractServer.start();
        List<Long> arrivals = new CopyOnWriteArrayList<>();
        AtomicInteger calls = new AtomicInteger();
        openMeter.route("POST", "/api/v1/events", r -> {
            arrivals.add(System.nanoTime());
            return calls.incrementAndGet() == 1
                    ? new Reply(429, Map.of("Retry-After", "2", "Content-Type", "application/problem+json"),
                    "{\"title\":\"rate limited\",\"status\":429}")
                    : Reply.of(204);
        });
        // four batches in flight at once: the first is refused, the other three must wait out its Retry-After too
        TestPipeline t = pipelineTo(dir, 5, 4, Duration.ofSeconds(5));
        submit(t, 0, 5);
        // once the bridge has the 429 in hand, nothing may reach the sink until its Retry-After has passed
        Eventually.await("the refusal to reach the bridge", Duration.ofSeconds(10),
                () -> t.metric("tokenmeter_retries_total{cause=\"http_429\"}") >= 1);
        submit(t, 5, 20);
        assertThat(t.pipeline.close(Duration.ofSeconds(30))).isTrue();

        assertDeliveredExactlyTheRecords(20, Set.of());
        long refusedAt = arrivals.get(0);
        assertThat(arrivals.subList(1, arrivals.size())).as("no request inside the 2 s the server asked for")
                .allSatisfy(at -> assertThat(Duration.ofNanos(at - refusedAt)).isGreaterThanOrEqualTo(Duration.ofMillis(1950)));
    }

    @Test
    void afterAnOutageDeliveryResumesAtTheNextProbeNotAfterTheLongestBackoff(@TempDir Path dir) throws Exception {
        openMeter = OpenMeterContractServer.start();
        java.util.concurrent.atomic.AtomicBoolean down = new java.util.concurrent.atomic.AtomicBoolean(true);
        java.util.concurrent.atomic.AtomicLong firstAcceptedAt = new java.util.concurrent.atomic.AtomicLong();
        openMeter.route("POST", "/api/v1/events", r -> {
            if (down.get()) {
                return Reply.json(503, "{\"title\":\"down\",\"status\":503}");
            }
            firstAcceptedAt.compareAndSet(0, System.nanoTime());
            return Reply.of(204);
        });
        // backoff grows to 30 s: after 8 s of outage the batches' next retries are seconds away
        TestPipeline t = new TestPipeline(new OpenMeterSink(openMeter.baseUri(), null, Duration.ofSeconds(5)),
                dir.resolve("dead"), new dev.tokenmeter.bridge.pipeline.PipelineSettings(5, 1024 * 1024, Duration.ofMillis(50), 4,
                Duration.ofMillis(200), Duration.ofSeconds(30)));
        submit(t, 0, 20);
        Eventually.await("the outage to be felt", Duration.ofSeconds(30),
                () -> t.metric("tokenmeter_retries_total{cause=\"http_503\"}") >= 8);
        long backAt = waitThenRecover(down, Duration.ofSeconds(8));
        assertThat(t.pipeline.close(Duration.ofSeconds(60))).isTrue();

        assertDeliveredExactlyTheRecords(20, Set.of());
        // a probe goes every second while the sink fails; the old per-batch backoff would have waited 6 to 13 s
        assertThat(Duration.ofNanos(firstAcceptedAt.get() - backAt)).isLessThan(Duration.ofMillis(3000));
    }

    /** Lets the outage last {@code outage} (waiting on the clock is the point here), then ends it; returns when. */
    private static long waitThenRecover(java.util.concurrent.atomic.AtomicBoolean down, Duration outage)
            throws InterruptedException {
        long until = System.nanoTime() + outage.toNanos();
        Eventually.await("the outage to last " + outage, outage.plusSeconds(5), Duration.ofMillis(100),
                () -> System.nanoTime() - until >= 0);
        long backAt = System.nanoTime();
        down.set(false);
        return backAt;
    }

    @Test
    void slowAnswersTimeOutAndAreResentWithIdenticalContent(@TempDir Path dir) throws Exception {
        openMeter = OpenMeterContractServer.start();
        AtomicInteger calls = new AtomicInteger();
        openMeter.route("POST", "/api/v1/events", r -> {
            if (calls.incrementAndGet() <= 2) {
                // the server still stores the batch: the client just never hears back in time
                Thread.sleep(1500);
            }
            return Reply.of(204);
        });
        TestPipeline t = pipelineTo(dir, 25, 1, Duration.ofMillis(300));
        submit(t, 0, 50);
        assertThat(t.pipeline.close(Duration.ofSeconds(30))).isTrue();
        // one send slot: the first batch of 25 times out twice, then both batches go through; the server stores
        // the two slow copies when their answers finally return, after the client gave up on them
        Eventually.await("both slow copies stored", Duration.ofSeconds(20), () -> openMeter.ingestedEvents().size() >= 100);

        assertDeliveredExactlyTheRecords(50, Set.of());
        assertThat(t.metric("tokenmeter_retries_total{cause=\"timeout\"}")).isGreaterThanOrEqualTo(1);
    }

    @Test
    void refusedConnectionsAreRetriedUntilOpenMeterComesUp(@TempDir Path dir) throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        OpenMeterSink sink = new OpenMeterSink(java.net.URI.create("http://127.0.0.1:" + port), null, Duration.ofSeconds(2));
        // three batches and four send slots: submitting never waits, so the test can watch the retries
        TestPipeline t = new TestPipeline(sink, dir.resolve("dead"), TestPipeline.settings(10, 4));
        submit(t, 0, 30);
        Eventually.await("a few refused attempts", Duration.ofSeconds(20),
                () -> t.metric("tokenmeter_retries_total{cause=\"network\"}") >= 3);
        openMeter = OpenMeterContractServer.start(port);
        assertThat(t.pipeline.close(Duration.ofSeconds(30))).isTrue();

        assertDeliveredExactlyTheRecords(30, Set.of());
    }

    @Test
    void aBatchWithOneBadEventIsSplitAndOnlyThatEventIsADeadLetter(@TempDir Path dir) throws Exception {
        openMeter = OpenMeterContractServer.start();
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger maxInFlight = new AtomicInteger();
        openMeter.route("POST", "/api/v1/events", r -> {
            maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            try {
                Thread.sleep(20); // long enough for concurrent requests to overlap
                return r.bodyText().contains("\"subject\":\"mallory\"")
                        ? Reply.problem(400, "event rejected: subject is blocked")
                        : Reply.of(204);
            } finally {
                inFlight.decrementAndGet();
            }
        });
        TestPipeline t = pipelineTo(dir, 16, 3, Duration.ofSeconds(5));
        for (int i = 0; i < 200; i++) {
            byte[] record = i == 77 ? Records.valid(i, "mallory") : Records.valid(i);
            t.pipeline.submit(new SourceRecord("p0", Position.of(i), record));
        }
        assertThat(t.pipeline.close(Duration.ofSeconds(30))).isTrue();

        assertDeliveredExactlyTheRecords(200, Set.of(Records.requestId(77)));
        assertThat(maxInFlight.get()).isBetween(1, 3);
        assertThat(t.checkpoints).containsEntry("p0", Position.of(199));

        List<JsonNode> letters = readDeadLetters(dir.resolve("dead"));
        assertThat(letters).singleElement().satisfies(letter -> {
            assertThat(letter.get("reason").asText()).isEqualTo("rejected_by_sink");
            assertThat(letter.get("detail").asText()).contains("HTTP 400").contains("subject is blocked");
            assertThat(letter.get("request_id").asText()).isEqualTo(Records.requestId(77));
            assertThat(letter.get("event").get("subject").asText()).isEqualTo("mallory");
            assertThat(letter.get("original_text").asText()).isEqualTo(new String(Records.valid(77, "mallory")));
        });
        assertThat(t.metric("tokenmeter_dead_letters_total{reason=\"rejected_by_sink\"}")).isEqualTo(1);
    }

    private static List<JsonNode> readDeadLetters(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.flatMap(f -> {
                try {
                    return Files.readAllLines(f).stream();
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }).map(line -> {
                try {
                    return JSON.readTree(line);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }).toList();
        }
    }
}
