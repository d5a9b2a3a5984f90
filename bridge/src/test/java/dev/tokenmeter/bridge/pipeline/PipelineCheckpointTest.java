package dev.tokenmeter.bridge.pipeline;

import dev.tokenmeter.bridge.mapping.OutgoingEvent;
import dev.tokenmeter.bridge.sink.SendResult;
import dev.tokenmeter.bridge.sink.Sink;
import dev.tokenmeter.bridge.support.Eventually;
import dev.tokenmeter.bridge.support.Records;
import dev.tokenmeter.bridge.support.TestPipeline;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;

import static org.assertj.core.api.Assertions.assertThat;

/** Batches acknowledged out of order never move a checkpoint past a record still in flight. */
class PipelineCheckpointTest {

    /** Holds each single-event batch until the test releases its event id. */
    static final class GatedSink implements Sink {
        final Map<String, CountDownLatch> gates = new ConcurrentHashMap<>();
        final List<String> arrived = new CopyOnWriteArrayList<>();

        @Override
        public SendResult send(List<OutgoingEvent> batch) throws InterruptedException {
            String id = batch.get(0).id();
            arrived.add(id);
            gates.computeIfAbsent(id, k -> new CountDownLatch(1)).await();
            return SendResult.ACCEPTED;
        }

        void release(int record) {
            gates.computeIfAbsent(Records.requestId(record), k -> new CountDownLatch(1)).countDown();
        }
    }

    @Test
    void outOfOrderAcknowledgementsCheckpointOnlyContiguousPositions(@TempDir Path dir) throws Exception {
        GatedSink sink = new GatedSink();
        List<Position> reported = new CopyOnWriteArrayList<>();
        TestPipeline t = new TestPipeline(sink, dir, TestPipeline.settings(1, 4), (p, pos) -> reported.add(pos));
        for (int i = 1; i <= 4; i++) {
            t.pipeline.submit(new SourceRecord("p0", Position.of(i), Records.valid(i)));
        }
        Eventually.await("four batches at the sink", Duration.ofSeconds(10), () -> sink.arrived.size() == 4);

        sink.release(3);
        sink.release(2);
        sink.release(4);
        Eventually.await("records 2-4 settled", Duration.ofSeconds(10), () -> t.pipeline.tracker().pending() == 1);
        assertThat(reported).as("record 1 is still in flight").isEmpty();

        sink.release(1);
        Eventually.await("all settled", Duration.ofSeconds(10), () -> t.pipeline.tracker().pending() == 0);
        assertThat(reported).containsExactly(Position.of(4));
        assertThat(t.pipeline.close(Duration.ofSeconds(5))).isTrue();
    }

    @Test
    void submitBlocksWhileEverySendSlotIsBusy(@TempDir Path dir) throws Exception {
        GatedSink sink = new GatedSink();
        TestPipeline t = new TestPipeline(sink, dir, TestPipeline.settings(1, 2));
        t.pipeline.submit(new SourceRecord("p0", Position.of(1), Records.valid(1)));
        t.pipeline.submit(new SourceRecord("p0", Position.of(2), Records.valid(2)));
        // both slots are taken once their batches reach the sink (the senders may not have called it yet)
        Eventually.await("both batches at the sink", Duration.ofSeconds(10), () -> sink.arrived.size() == 2);
        Thread producer = new Thread(() -> {
            try {
                t.pipeline.submit(new SourceRecord("p0", Position.of(3), Records.valid(3)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        producer.start();
        Eventually.await("the third submit to park", Duration.ofSeconds(10),
                () -> producer.getState() == Thread.State.WAITING);
        assertThat(sink.arrived).hasSize(2);
        sink.release(1);
        producer.join(10_000);
        assertThat(producer.isAlive()).isFalse();
        sink.release(2);
        sink.release(3);
        assertThat(t.pipeline.close(Duration.ofSeconds(5))).isTrue();
        assertThat(t.checkpoints.get("p0")).isEqualTo(Position.of(3));
    }

    @Test
    void shutdownAbandonsUnacknowledgedWorkWithoutCheckpointingIt(@TempDir Path dir) throws Exception {
        GatedSink sink = new GatedSink();
        TestPipeline t = new TestPipeline(sink, dir, TestPipeline.settings(1, 4));
        t.pipeline.submit(new SourceRecord("p0", Position.of(1), Records.valid(1)));
        t.pipeline.submit(new SourceRecord("p0", Position.of(2), Records.valid(2)));
        Eventually.await("two batches at the sink", Duration.ofSeconds(10), () -> sink.arrived.size() == 2);
        sink.release(1);
        Eventually.await("record 1 checkpointed", Duration.ofSeconds(10), () -> t.checkpoints.containsKey("p0"));

        assertThat(t.pipeline.close(Duration.ofMillis(300))).as("record 2 never acknowledged").isFalse();
        assertThat(t.checkpoints.get("p0")).isEqualTo(Position.of(1));
    }
}
