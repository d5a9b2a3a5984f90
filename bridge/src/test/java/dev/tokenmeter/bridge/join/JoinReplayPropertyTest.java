package dev.tokenmeter.bridge.join;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenmeter.bridge.deadletter.DirectoryDeadLetterStore;
import dev.tokenmeter.bridge.mapping.EventSettings;
import dev.tokenmeter.bridge.mapping.OutgoingEvent;
import dev.tokenmeter.bridge.mapping.RequestEventMapper;
import dev.tokenmeter.bridge.pipeline.CheckpointTracker;
import dev.tokenmeter.bridge.pipeline.DeliveryListener;
import dev.tokenmeter.bridge.pipeline.Pipeline;
import dev.tokenmeter.bridge.pipeline.PipelineMetrics;
import dev.tokenmeter.bridge.pipeline.PipelineSettings;
import dev.tokenmeter.bridge.pipeline.Position;
import dev.tokenmeter.bridge.pipeline.SourceRecord;
import dev.tokenmeter.bridge.sink.SendResult;
import dev.tokenmeter.bridge.sink.Sink;
import dev.tokenmeter.usage.UsageRecordParser;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The join's promise: every decision is a function of the partition's log alone. Random logs (records, their LLM
 * log rows early, on time, late or never, rows without counts, duplicates, conflicting rows, rows of non-streamed
 * requests, ticks), read once without a crash and once with crashes at random points and restarts from the last
 * checkpoint the bridge reported: after de-duplication by id both deliver the same events, no id is ever sent with
 * different bytes, and every record that expected exact usage ends joined or estimated.
 */
class JoinReplayPropertyTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MINUTE = 60_000;
    private static final Duration W = Duration.ofMinutes(20);
    private static final Duration LATE = Duration.ofMinutes(10);
    private static final Instant START = Instant.parse("2026-11-27T08:00:00Z");
    private static final String[] PARTITIONS = {"0", "1"};

    @TempDir
    Path deadLetters;

    /** One message of a partition's log, with the enqueued time the broker gave it. */
    private record Message(long enqueuedMillis, byte[] bytes) {
    }

    /** Every event delivered, by id: the distinct bodies seen (must stay one each). */
    private static final class RecordingSink implements Sink {
        final Map<String, Set<String>> bodies = new ConcurrentHashMap<>();
        final Random flaky;

        RecordingSink(long seed) {
            flaky = new Random(seed);
        }

        @Override
        public SendResult send(List<OutgoingEvent> batch) {
            synchronized (flaky) {
                if (flaky.nextInt(10) == 0) {
                    return new SendResult.Retryable("http_503", "flaky", null);
                }
            }
            for (OutgoingEvent e : batch) {
                bodies.computeIfAbsent(e.id(), id -> ConcurrentHashMap.newKeySet())
                        .add(new String(e.json(), StandardCharsets.UTF_8));
            }
            return SendResult.ACCEPTED;
        }
    }

    @Test
    void replaysFromAnyCheckpointDeliverWhatACrashFreeRunDelivers() throws Exception {
        int crashes = 0;
        for (long seed = 1; seed <= 30; seed++) {
            Random random = new Random(seed);
            Map<String, List<Message>> logs = new TreeMap<>();
            Set<String> expecting = ConcurrentHashMap.newKeySet();
            for (String partition : PARTITIONS) {
                logs.put(partition, log(random, partition, 60 + random.nextInt(60), expecting));
            }

            RecordingSink calm = new RecordingSink(seed);
            runToTheEnd(logs, Map.of(), calm);

            RecordingSink crashing = new RecordingSink(seed + 1000);
            Map<String, Long> checkpoints = new HashMap<>();
            int runs = 1 + random.nextInt(4);
            for (int run = 0; run < runs; run++) {
                checkpoints = runUntilCrash(logs, checkpoints, crashing, random);
                crashes++;
            }
            runToTheEnd(logs, checkpoints, crashing);

            String scenario = "seed " + seed + " (" + runs + " crashes)";
            crashing.bodies.forEach((id, bodies) ->
                    assertThat(bodies).as(scenario + ": event %s sent with different bytes", id).hasSize(1));
            assertThat(crashing.bodies).as(scenario + ": same events as without crashes").isEqualTo(calm.bodies);
            for (String id : expecting) {
                JsonNode data = JSON.readTree(calm.bodies.get(id).iterator().next()).get("data");
                assertThat(data.get("usage_source").asText()).as(scenario + ": " + id).isIn("joined", "estimated");
            }
        }
        assertThat(crashes).isGreaterThan(25);
    }

    /**
     * A partition's log: each request's record at its time, its row (if any) at a random lag, some duplicated,
     * plus ticks; sorted by enqueued time as the broker would have them. The log ends with a tick past every window
     * so that everything is decided by the end.
     */
    private List<Message> log(Random random, String partition, int requests, Set<String> expecting) {
        List<Message> log = new ArrayList<>();
        long time = START.toEpochMilli();
        for (int i = 0; i < requests; i++) {
            time += random.nextInt(3 * (int) MINUTE);
            String id = String.format("%08d-0000-4000-8000-%012d", Integer.parseInt(partition), i);
            boolean streamed = random.nextInt(10) < 7;
            if (streamed) {
                expecting.add(id);
            }
            log.add(new Message(time, record(id, Instant.ofEpochMilli(time), streamed)));
            int fate = random.nextInt(10);
            if (fate == 0) {
                continue;
            }
            long lag = switch (fate) {
                case 1 -> -random.nextInt(5 * (int) MINUTE);                    // overtakes its record
                case 2 -> W.toMillis() + random.nextInt((int) LATE.toMillis()); // late, still remembered
                case 3 -> W.toMillis() + LATE.toMillis() + MINUTE;              // too late
                default -> random.nextInt(4 * (int) MINUTE);                   // on time
            };
            boolean withUsage = random.nextInt(8) != 0;
            byte[] row = row(id.toUpperCase(), Instant.ofEpochMilli(time + lag), streamed, withUsage, 0);
            log.add(new Message(time + lag, row));
            if (random.nextInt(6) == 0) {
                log.add(new Message(time + lag + random.nextInt(1000), row));
            }
            if (random.nextInt(10) == 0) {
                log.add(new Message(time + lag + 1000, row(id.toUpperCase(), Instant.ofEpochMilli(time + lag), streamed, true, 7)));
            }
            if (random.nextInt(4) == 0) {
                log.add(new Message(time + random.nextInt(1000), JoinRowCodec.write(new Tick(Instant.ofEpochMilli(time), "rekey-0"))));
            }
        }
        long last = log.stream().mapToLong(Message::enqueuedMillis).max().orElse(time);
        long end = last + W.toMillis() + LATE.toMillis() + 10 * MINUTE;
        log.add(new Message(end, JoinRowCodec.write(new Tick(Instant.ofEpochMilli(end), "rekey-0"))));
        log.sort(Comparator.comparingLong(Message::enqueuedMillis));
        return log;
    }

    private static byte[] record(String id, Instant time, boolean streamed) {
        return ("{\"schema_version\":2,\"request_id\":\"" + id + "\",\"timestamp\":\"" + time + "\","
                + "\"service_name\":\"contoso-apim\",\"gateway_id\":\"managed\",\"user_id\":\"user-" + (id.hashCode() & 3)
                + "\",\"user_source\":\"token_claim\",\"deployment\":\"gpt-4o\",\"model\":null,\"operation_kind\":\"chat\","
                + "\"stream\":" + streamed + ",\"usage_source\":\"" + (streamed ? "estimated" : "reported") + "\","
                + "\"exact_expected\":" + streamed + ",\"include_usage\":" + (streamed ? "\"injected\"" : "null") + ","
                + "\"status\":200,\"prompt_tokens\":40,\"completion_tokens\":" + (streamed ? 0 : 12)
                + ",\"total_tokens\":" + (streamed ? 40 : 52) + ",\"policy_version\":\"1.2.0\"}")
                .getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] row(String correlationId, Instant time, boolean streamed, boolean withUsage, int extra) {
        return JoinRowCodec.write(new LlmUsage(JoinRowCodec.canonical(correlationId), time, "gpt-4o",
                "gpt-4o-2024-08-06", "2024-10-21", streamed, withUsage ? 42 + extra : 0, withUsage ? 17 : 0,
                withUsage ? 59 + extra : 0, withUsage ? 8L : null, "chatcmpl-x"));
    }

    private Pipeline pipeline(RecordingSink sink, Map<String, Long> safe) throws Exception {
        CheckpointTracker tracker = new CheckpointTracker((partition, position) ->
                safe.merge(partition, position.sequence(), Math::max));
        PipelineSettings settings = new PipelineSettings(7, 1024 * 1024, Duration.ofMillis(5), 3,
                Duration.ofMillis(1), Duration.ofMillis(4));
        return new Pipeline(settings, new UsageRecordParser(), new RequestEventMapper(new EventSettings(null, null)),
                sink, new DirectoryDeadLetterStore(deadLetters), tracker, new PipelineMetrics(new SimpleMeterRegistry()),
                DeliveryListener.NONE, Clock.systemUTC(), new JoinSettings(true, W, LATE, 1_000_000), JoinObserver.NONE,
                null);
    }

    private static void submit(Pipeline pipeline, String partition, long sequence, Message m) throws InterruptedException {
        pipeline.submit(new SourceRecord(partition, Position.of(sequence), m.bytes(), Instant.ofEpochMilli(m.enqueuedMillis())));
    }

    /** Reads from each partition's checkpoint to the end and waits until everything is settled. */
    private void runToTheEnd(Map<String, List<Message>> logs, Map<String, Long> from, RecordingSink sink) throws Exception {
        Map<String, Long> safe = new ConcurrentHashMap<>();
        Pipeline pipeline = pipeline(sink, safe);
        for (Map.Entry<String, List<Message>> log : logs.entrySet()) {
            List<Message> messages = log.getValue();
            for (int i = (int) (from.getOrDefault(log.getKey(), -1L) + 1); i < messages.size(); i++) {
                submit(pipeline, log.getKey(), i, messages.get(i));
            }
        }
        assertThat(pipeline.close(Duration.ofSeconds(30))).as("everything settles once every window has passed").isTrue();
    }

    /**
     * Reads the partitions interleaved from their checkpoints to a random point and crashes there: whatever was
     * reported safe by then is the next start; what was sent or acknowledged after is not checkpointed.
     */
    private Map<String, Long> runUntilCrash(Map<String, List<Message>> logs, Map<String, Long> from,
                                            RecordingSink sink, Random random) throws Exception {
        Map<String, Long> safe = new ConcurrentHashMap<>(from);
        Pipeline pipeline = pipeline(sink, safe);
        Map<String, Integer> next = new HashMap<>();
        for (String partition : PARTITIONS) {
            next.put(partition, (int) (from.getOrDefault(partition, -1L) + 1));
        }
        int steps = random.nextInt(80);
        for (int step = 0; step < steps; step++) {
            String partition = PARTITIONS[random.nextInt(PARTITIONS.length)];
            int i = next.get(partition);
            if (i < logs.get(partition).size()) {
                submit(pipeline, partition, i, logs.get(partition).get(i));
                next.put(partition, i + 1);
            }
        }
        Map<String, Long> crashedAt = new HashMap<>(safe);
        pipeline.close(Duration.ZERO);
        return crashedAt;
    }
}
