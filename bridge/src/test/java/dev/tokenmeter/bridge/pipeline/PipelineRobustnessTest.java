package dev.tokenmeter.bridge.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenmeter.bridge.deadletter.DirectoryDeadLetterStore;
import dev.tokenmeter.bridge.mapping.Billable;
import dev.tokenmeter.bridge.mapping.EventMapper;
import dev.tokenmeter.bridge.mapping.EventSettings;
import dev.tokenmeter.bridge.mapping.OutgoingEvent;
import dev.tokenmeter.bridge.mapping.RequestEventMapper;
import dev.tokenmeter.bridge.sink.SendResult;
import dev.tokenmeter.bridge.support.Eventually;
import dev.tokenmeter.bridge.support.Records;
import dev.tokenmeter.bridge.support.TestPipeline;
import dev.tokenmeter.usage.UsageRecordParser;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/** No record can stop a partition, and nothing submitted is lost when a submit is interrupted. */
class PipelineRobustnessTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static List<JsonNode> deadLetters(Path dir) throws IOException {
        List<JsonNode> letters = new ArrayList<>();
        try (var files = Files.list(dir)) {
            for (Path file : files.toList()) {
                for (String line : Files.readAllLines(file)) {
                    letters.add(JSON.readTree(line));
                }
            }
        }
        return letters;
    }

    @Test
    void aRecordTheBridgeFailsOnBecomesAnInternalErrorDeadLetterAndThePartitionMovesOn(@TempDir Path dir)
            throws Exception {
        EventMapper real = new RequestEventMapper(new EventSettings(null, null));
        EventMapper failsOnRecord2 = billable -> {
            if (billable.record().requestId().equals(Records.requestId(2))) {
                throw new IllegalStateException("mapper bug");
            }
            return real.map(billable);
        };
        List<String> sent = new CopyOnWriteArrayList<>();
        Map<String, Position> checkpoints = new ConcurrentHashMap<>();
        Pipeline pipeline = new Pipeline(TestPipeline.settings(10, 2), new UsageRecordParser(), failsOnRecord2,
                batch -> {
                    batch.forEach(e -> sent.add(e.id()));
                    return SendResult.ACCEPTED;
                }, new DirectoryDeadLetterStore(dir), new CheckpointTracker(checkpoints::put),
                new PipelineMetrics(new SimpleMeterRegistry()), DeliveryListener.NONE, Clock.systemUTC());
        for (int i = 1; i <= 3; i++) {
            pipeline.submit(new SourceRecord("p0", Position.of(i), Records.valid(i)));
        }
        assertThat(pipeline.close(Duration.ofSeconds(10))).isTrue();

        assertThat(sent).containsExactlyInAnyOrder(Records.requestId(1), Records.requestId(3));
        assertThat(checkpoints.get("p0")).isEqualTo(Position.of(3));
        JsonNode letter = deadLetters(dir).get(0);
        assertThat(letter.get("reason").asText()).isEqualTo("internal_error");
        assertThat(letter.get("detail").asText()).contains("mapper bug");
        assertThat(letter.get("request_id").asText()).isEqualTo(Records.requestId(2));
    }

    @Test
    void theDeadLetterOfAnInvalidRecordNamesItsRequestIdWhenItCanBeRead(@TempDir Path dir) throws Exception {
        TestPipeline t = new TestPipeline(batch -> SendResult.ACCEPTED, dir, TestPipeline.settings(10, 2));
        byte[] broken = new String(Records.valid(7)).replace("\"prompt_tokens\":107", "\"prompt_tokens\":\"107\"").getBytes();
        t.pipeline.submit(new SourceRecord("p0", Position.of(1), broken));
        assertThat(t.pipeline.close(Duration.ofSeconds(10))).isTrue();

        JsonNode letter = deadLetters(dir).get(0);
        assertThat(letter.get("reason").asText()).isEqualTo("invalid_record");
        assertThat(letter.get("detail").asText()).contains("$.prompt_tokens");
        assertThat(letter.get("request_id").asText()).isEqualTo(Records.requestId(7));
    }

    @Test
    void aSubmitInterruptedWhileEverySlotIsBusyKeepsTheBatchItClosed(@TempDir Path dir) throws Exception {
        PipelineCheckpointTest.GatedSink sink = new PipelineCheckpointTest.GatedSink();
        TestPipeline t = new TestPipeline(sink, dir, TestPipeline.settings(1, 1));
        t.pipeline.submit(new SourceRecord("p0", Position.of(1), Records.valid(1)));
        Eventually.await("record 1 at the sink", Duration.ofSeconds(10), () -> sink.arrived.size() == 1);

        AtomicReference<Throwable> outcome = new AtomicReference<>();
        Thread source = new Thread(() -> {
            try {
                // a batch of one: closed at once, then waits for the only send slot
                t.pipeline.submit(new SourceRecord("p0", Position.of(2), Records.valid(2)));
                outcome.set(new AssertionError("submit returned without waiting"));
            } catch (InterruptedException e) {
                outcome.set(e);
            }
        });
        source.start();
        Eventually.await("the second submit to wait for a slot", Duration.ofSeconds(10),
                () -> source.getState() == Thread.State.WAITING);
        source.interrupt();
        source.join(10_000);
        assertThat(outcome.get()).isInstanceOf(InterruptedException.class);

        sink.release(1);
        sink.release(2);
        assertThat(t.pipeline.close(Duration.ofSeconds(10))).as("the interrupted batch is still sent").isTrue();
        assertThat(sink.arrived).containsExactly(Records.requestId(1), Records.requestId(2));
        assertThat(t.checkpoints.get("p0")).isEqualTo(Position.of(2));
    }
}
