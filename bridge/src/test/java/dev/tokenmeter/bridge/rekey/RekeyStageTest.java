package dev.tokenmeter.bridge.rekey;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenmeter.bridge.deadletter.DirectoryDeadLetterStore;
import dev.tokenmeter.bridge.join.JoinRowCodec;
import dev.tokenmeter.bridge.join.LlmUsage;
import dev.tokenmeter.bridge.join.Tick;
import dev.tokenmeter.bridge.llmlog.LlmLogParser;
import dev.tokenmeter.bridge.llmlog.ParsedMessage;
import dev.tokenmeter.bridge.pipeline.CheckpointTracker;
import dev.tokenmeter.bridge.pipeline.Position;
import dev.tokenmeter.bridge.pipeline.SourceRecord;
import dev.tokenmeter.bridge.support.Eventually;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The re-key stage against a fake target whose acknowledgements the tests control. */
class RekeyStageTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Instant NOW = Instant.parse("2026-11-27T09:00:00Z");

    private final FakeTarget target = new FakeTarget();
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    /** Every safe position the tracker reported, in order, per partition. */
    private final Map<String, List<Long>> safe = new ConcurrentHashMap<>();
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final List<RekeyStage> stages = new ArrayList<>();
    @TempDir
    Path deadLetterDir;

    @AfterEach
    void stop() throws InterruptedException {
        for (RekeyStage stage : stages) {
            stage.close(Duration.ZERO);
        }
        threads.shutdownNow();
        assertThat(threads.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }

    private RekeyStage stage(int maxInFlight, Duration tickInterval) throws IOException {
        CheckpointTracker tracker = new CheckpointTracker((partition, position) ->
                safe.computeIfAbsent(partition, p -> new CopyOnWriteArrayList<>()).add(position.sequence()));
        RekeyStage stage = new RekeyStage(
                new RekeySettings(tickInterval, maxInFlight, Duration.ofMillis(5), Duration.ofMillis(20), "test-replica"),
                new LlmLogParser(), target, new DirectoryDeadLetterStore(deadLetterDir), tracker,
                new RekeyMetrics(registry), Clock.fixed(NOW, ZoneOffset.UTC));
        stages.add(stage);
        return stage;
    }

    /** Ticks off for the tests about rows: a day between ticks (the first goes out at once and is ignored). */
    private RekeyStage stage(int maxInFlight) throws IOException {
        return stage(maxInFlight, Duration.ofDays(1));
    }

    static byte[] fixture(String name) {
        try (InputStream in = RekeyStageTest.class.getResourceAsStream("/llmlog/" + name)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static SourceRecord record(String partition, long position, byte[] bytes) {
        return new SourceRecord(partition, Position.of(position), bytes, NOW);
    }

    /** One token row for {@code id} (in the case given), in an Event Hubs envelope. */
    static byte[] envelope(String... ids) {
        StringBuilder records = new StringBuilder();
        for (String id : ids) {
            if (!records.isEmpty()) {
                records.append(',');
            }
            records.append("{\"time\":\"2026-11-27T08:00:00Z\",\"category\":\"GatewayLlmLogs\",\"correlationId\":\"")
                    .append(id).append("\",\"properties\":{\"modelName\":\"gpt-4o\",\"promptTokens\":10,")
                    .append("\"completionTokens\":5,\"totalTokens\":15}}");
        }
        return ("{\"records\":[" + records + "]}").getBytes(StandardCharsets.UTF_8);
    }

    private double metric(String sample) {
        for (String line : registry.scrape().split("\n")) {
            if (line.startsWith(sample + " ")) {
                return Double.parseDouble(line.substring(sample.length() + 1).trim());
            }
        }
        return -1;
    }

    private List<Long> safe(String partition) {
        return safe.getOrDefault(partition, List.of());
    }

    @Test
    void tokenRowsGoOutAsLlmUsageRowsKeyedByCanonicalIdAndEverythingElseIsCounted() throws Exception {
        RekeyStage stage = stage(16);
        stage.submit(record("0", 0, fixture("envelope-streamed-chat.json")));
        stage.submit(record("0", 1, fixture("envelope-correlation-in-properties.json")));
        stage.submit(record("1", 0, fixture("mixed-categories.json")));
        Eventually.await("all three messages settled", WAIT, () -> stage.tracker().pending() == 0);

        LlmLogParser parser = new LlmLogParser();
        List<LlmUsage> expected = new ArrayList<>();
        for (String f : List.of("envelope-streamed-chat.json", "envelope-correlation-in-properties.json",
                "mixed-categories.json")) {
            expected.addAll(((ParsedMessage.Records) parser.parse(fixture(f))).usages());
        }
        assertThat(target.sends).extracting(FakeTarget.Send::key).containsExactlyInAnyOrder(
                "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e44", "c7d8e9f0-a1b2-4c3d-8e5f-6a7b8c9d0eaa",
                "6f1c2a7e-4b1d-4f8e-9a51-0c2d3e4f5a61");
        for (LlmUsage usage : expected) {
            FakeTarget.Send send = target.sendsFor(usage.correlationId()).get(0);
            assertThat(send.rows()).hasSize(1);
            assertThat(send.rows().get(0)).isEqualTo(JoinRowCodec.write(usage));
            assertThat(JoinRowCodec.read(send.rows().get(0))).isEqualTo(new JoinRowCodec.Read.Row(usage));
        }
        assertThat(safe("0")).last().isEqualTo(1L);
        assertThat(safe("1")).containsExactly(0L);
        assertThat(metric("tokenmeter_rekey_messages_in_total")).isEqualTo(3);
        assertThat(metric("tokenmeter_rekey_rows_out_total")).isEqualTo(3);
        assertThat(metric("tokenmeter_rekey_rows_skipped_total{reason=\"message_chunk\"}")).isEqualTo(2);
        assertThat(metric("tokenmeter_rekey_rows_skipped_total{reason=\"other_category\"}")).isEqualTo(1);
        assertThat(metric("tokenmeter_rekey_rows_skipped_total{reason=\"metric\"}")).isEqualTo(1);
    }

    @Test
    void rowsOfOneIdInOneMessageShareASendAndIdsDifferingInCaseAreOneKey() throws Exception {
        RekeyStage stage = stage(16);
        stage.submit(record("0", 0, envelope("ABC-1", "abc-1", "def-2")));
        Eventually.await("settled", WAIT, () -> stage.tracker().pending() == 0);

        assertThat(target.sends).extracting(FakeTarget.Send::key).containsExactlyInAnyOrder("abc-1", "def-2");
        assertThat(target.sendsFor("abc-1").get(0).rows()).hasSize(2);
        assertThat(metric("tokenmeter_rekey_rows_out_total")).isEqualTo(3);
    }

    @Test
    void checkpointsNeverPassAMessageWithAnUnacknowledgedSend() throws Exception {
        target.autoAck = false;
        RekeyStage stage = stage(16);
        stage.submit(record("0", 10, envelope("a-1")));
        stage.submit(record("0", 11, fixture("probe-rows.json"))); // no rows: settled at once, but behind 10
        stage.submit(record("0", 12, envelope("b-2", "c-3")));
        Eventually.await("three sends out", WAIT, () -> target.sends.size() == 3);

        ack("b-2");
        ack("c-3");
        Eventually.await("message 12 settled", WAIT, () -> stage.tracker().pending() == 1);
        assertThat(safe("0")).as("nothing is safe while 10 is unacknowledged").isEmpty();

        ack("a-1");
        Eventually.await("everything settled", WAIT, () -> stage.tracker().pending() == 0);
        assertThat(safe("0")).containsExactly(12L);
    }

    @Test
    void aMessageWithSeveralIdsSettlesOnlyWhenTheLastSendIsAcknowledged() throws Exception {
        target.autoAck = false;
        RekeyStage stage = stage(16);
        stage.submit(record("0", 0, envelope("a-1", "b-2", "c-3")));
        Eventually.await("three sends out", WAIT, () -> target.sends.size() == 3);
        ack("a-1");
        ack("c-3");
        assertThat(stage.tracker().pending()).isEqualTo(1);
        assertThat(safe("0")).isEmpty();
        ack("b-2");
        Eventually.await("settled", WAIT, () -> safe("0").equals(List.of(0L)));
    }

    @Test
    void failedSendsAreRetriedWithBackoffUntilAcknowledged() throws Exception {
        target.failNext.set(3);
        RekeyStage stage = stage(16);
        stage.submit(record("0", 0, envelope("a-1")));
        Eventually.await("settled after the retries", WAIT, () -> safe("0").equals(List.of(0L)));

        assertThat(target.sendsFor("a-1")).hasSize(4);
        assertThat(metric("tokenmeter_rekey_send_retries_total")).isEqualTo(3);
        assertThat(metric("tokenmeter_rekey_rows_out_total")).isEqualTo(1);
        assertThat(stage.targetHealthy()).isTrue();
    }

    @Test
    void aFailingTargetIsReportedUnhealthyAndNothingIsCheckpointed() throws Exception {
        target.failAll = true;
        RekeyStage stage = stage(16);
        stage.submit(record("0", 0, envelope("a-1")));
        Eventually.await("retrying", WAIT, () -> target.sendsFor("a-1").size() >= 5);
        assertThat(stage.targetHealthy()).isFalse();
        assertThat(safe("0")).isEmpty();

        target.failAll = false;
        Eventually.await("settled once the target is back", WAIT, () -> safe("0").equals(List.of(0L)));
        assertThat(stage.targetHealthy()).isTrue();
    }

    @Test
    void forgetDropsThePartitionNeverSettlesItsOldMessagesAndStopsTheirRetries() throws Exception {
        target.autoAck = false;
        RekeyStage stage = stage(16);
        stage.submit(record("3", 5, envelope("old-1")));
        stage.submit(record("2", 0, envelope("other-1")));
        Eventually.await("two sends out", WAIT, () -> target.sends.size() == 2);

        stage.forget("3");
        assertThat(stage.tracker().pending()).as("the forgotten message no longer counts").isEqualTo(1);
        Eventually.await("the forgotten send's slot given back", WAIT,
                () -> metric("tokenmeter_rekey_sends_in_flight") == 1);
        // the target acknowledging the old send late moves nothing
        target.sendsFor("old-1").get(0).ack().complete(null);
        assertThat(safe("3")).isEmpty();
        assertThat(stage.tracker().safePosition("3")).isEmpty();

        // a failing send of a forgotten partition is not retried any more
        target.failAll = true;
        stage.submit(record("1", 0, envelope("retried-1")));
        Eventually.await("retrying", WAIT, () -> target.sendsFor("retried-1").size() >= 2);
        stage.forget("1");
        Eventually.await("its slot given back", WAIT, () -> metric("tokenmeter_rekey_sends_in_flight") == 1);
        int attempts = target.sendsFor("retried-1").size();
        stage.submit(record("0", 0, envelope("later-1")));
        Eventually.await("several retry rounds of another send", WAIT, () -> target.sendsFor("later-1").size() >= 4);
        assertThat(target.sendsFor("retried-1")).hasSize(attempts);

        // owned again: the partition starts afresh and settles normally
        target.failAll = false;
        target.autoAck = true;
        stage.submit(record("3", 5, envelope("old-1")));
        Eventually.await("re-read message settled", WAIT, () -> safe("3").equals(List.of(5L)));
        ack("other-1");
        Eventually.await("partition 2 settled", WAIT, () -> safe("2").equals(List.of(0L)));
    }

    @Test
    void unparseableMessagesBecomeDeadLettersWithTheirBytesAndSettle() throws Exception {
        RekeyStage stage = stage(16);
        byte[] bytes = "{\"records\":[{\"time\":".getBytes(StandardCharsets.UTF_8);
        stage.submit(record("0", 7, bytes));

        assertThat(safe("0")).containsExactly(7L);
        assertThat(target.sends).isEmpty();
        assertThat(metric("tokenmeter_rekey_messages_unparseable_total")).isEqualTo(1);
        JsonNode letter;
        try (Stream<Path> files = Files.list(deadLetterDir)) {
            Path file = files.findFirst().orElseThrow();
            letter = new ObjectMapper().readTree(Files.readAllLines(file).get(0));
        }
        assertThat(letter.get("reason").asText()).isEqualTo("invalid_record");
        assertThat(letter.get("detail").asText()).startsWith("not JSON: Unexpected end-of-input");
        assertThat(letter.get("partition").asText()).isEqualTo("0");
        assertThat(letter.get("position").asText()).isEqualTo("7");
        assertThat(Base64.getDecoder().decode(letter.get("original_base64").asText())).isEqualTo(bytes);
    }

    @Test
    void submitBlocksWhileEverySendSlotIsTaken() throws Exception {
        target.autoAck = false;
        RekeyStage stage = stage(2);
        stage.submit(record("0", 0, envelope("a-1")));
        stage.submit(record("0", 1, envelope("b-2")));
        Thread[] submitter = new Thread[1];
        Future<?> third = threads.submit(() -> {
            submitter[0] = Thread.currentThread();
            stage.submit(record("0", 2, envelope("c-3")));
            return null;
        });
        Eventually.await("the third submit waiting for a slot", WAIT, () -> submitter[0] != null
                && submitter[0].getState() == Thread.State.TIMED_WAITING);
        assertThat(third).isNotDone();
        assertThat(target.sends).hasSize(2);

        ack("a-1");
        third.get(10, TimeUnit.SECONDS);
        Eventually.await("the third send out", WAIT, () -> target.sends.size() == 3);
    }

    @Test
    void ticksReachEveryPartitionOfTheTarget() throws Exception {
        stage(16, Duration.ofMillis(20));
        Eventually.await("two ticks on each of the four partitions", WAIT,
                () -> target.partitions.stream().allMatch(p -> target.ticksTo(p).size() >= 2));

        for (FakeTarget.TickSend tick : target.ticks) {
            assertThat(JoinRowCodec.read(tick.row())).isEqualTo(new JoinRowCodec.Read.Row(new Tick(NOW, "test-replica")));
        }
        assertThat(metric("tokenmeter_rekey_ticks_total")).isGreaterThanOrEqualTo(8);
    }

    @Test
    void ticksFollowTheTargetsPartitionsAsTheyChange() throws Exception {
        target.partitions = List.of("0", "1");
        stage(16, Duration.ofMillis(20));
        Eventually.await("ticks on two partitions", WAIT, () -> target.ticksTo("1").size() >= 1);
        target.partitions = List.of("0", "1", "2");
        Eventually.await("ticks on the added partition", WAIT, () -> target.ticksTo("2").size() >= 1);
    }

    @Test
    void closeWaitsForAcknowledgementsWithinTheBudget() throws Exception {
        target.autoAck = false;
        RekeyStage stage = stage(16);
        stage.submit(record("0", 0, envelope("a-1")));
        Eventually.await("sent", WAIT, () -> target.sends.size() == 1);
        Future<Boolean> closing = threads.submit(() -> stage.close(Duration.ofSeconds(20)));
        ack("a-1");
        assertThat(closing.get(20, TimeUnit.SECONDS)).isTrue();
        assertThat(safe("0")).containsExactly(0L);
    }

    @Test
    void closeAbandonsWhatIsUnacknowledgedAtTheDeadlineWithoutSettlingIt() throws Exception {
        target.autoAck = false;
        RekeyStage stage = stage(16);
        stage.submit(record("5", 0, envelope("b-2")));
        assertThat(stage.close(Duration.ofMillis(50))).isFalse();
        ack("b-2");
        assertThat(safe("5")).isEmpty();
        assertThat(metric("tokenmeter_rekey_sends_in_flight")).isZero();
    }

    private void ack(String key) {
        for (FakeTarget.Send send : target.sendsFor(key)) {
            send.ack().complete(null);
        }
    }
}
