package dev.tokenmeter.bridge.rekey;

import com.azure.messaging.eventhubs.EventData;
import com.azure.messaging.eventhubs.models.SendOptions;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the Event Hubs target asks the SDK's producer to do, seen through the {@link EventHubsSender} seam: the
 * AMQP path itself needs a namespace (or the emulator, which needs Docker), see {@link EventHubsRekeyEmulatorTest}.
 */
class EventHubsRekeyTargetTest {

    /** Records each send with copies of its options, acknowledging when the test says. */
    private static final class RecordingSender implements EventHubsSender {
        record Call(List<EventData> events, String partitionKey, String partitionId, CompletableFuture<Void> ack) {
        }

        final List<Call> calls = new CopyOnWriteArrayList<>();
        boolean autoAck = true;
        boolean closed;

        @Override
        public CompletableFuture<Void> send(List<EventData> events, SendOptions options) {
            Call call = new Call(List.copyOf(events), options.getPartitionKey(), options.getPartitionId(),
                    new CompletableFuture<>());
            calls.add(call);
            if (autoAck) {
                call.ack().complete(null);
            }
            return call.ack();
        }

        @Override
        public List<String> partitionIds() {
            return List.of("0", "1", "2", "3");
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    private final RecordingSender sender = new RecordingSender();
    private final EventHubsRekeyTarget target = new EventHubsRekeyTarget(sender, "event hub test");

    private static byte[] row(int i, int size) {
        byte[] row = new byte[size];
        Arrays.fill(row, (byte) ('a' + i % 26));
        return row;
    }

    @Test
    void rowsOfOneKeyAreOneSendWithThatPartitionKeyAndNoPartitionId() {
        List<byte[]> rows = List.of("{\"n\":1}".getBytes(StandardCharsets.UTF_8), "{\"n\":2}".getBytes(StandardCharsets.UTF_8));
        assertThat(target.send("6f1c2a7e-4b1d-4f8e-9a51-0c2d3e4f5a61", rows)).isCompleted();

        assertThat(sender.calls).singleElement().satisfies(call -> {
            assertThat(call.partitionKey()).isEqualTo("6f1c2a7e-4b1d-4f8e-9a51-0c2d3e4f5a61");
            assertThat(call.partitionId()).isNull();
            assertThat(call.events()).extracting(EventData::getBody).containsExactlyElementsOf(rows);
            assertThat(call.events()).extracting(EventData::getContentType).containsOnly("application/json");
        });
    }

    @Test
    void manyRowsOfOneKeyAreSplitIntoSendsThatFitOneAfterTheOther() {
        sender.autoAck = false;
        List<byte[]> rows = IntStream.range(0, 300).mapToObj(i -> row(i, 1500)).toList();
        CompletableFuture<Void> sent = target.send("abc-1", rows);

        List<byte[]> seen = new ArrayList<>();
        int calls = 0;
        while (!sent.isDone()) {
            assertThat(sender.calls).as("the next group waits for the one before").hasSize(calls + 1);
            RecordingSender.Call call = sender.calls.get(calls++);
            assertThat(call.partitionKey()).isEqualTo("abc-1");
            int bytes = call.events().stream().mapToInt(e -> e.getBody().length + EventHubsRekeyTarget.EVENT_OVERHEAD_BYTES).sum();
            assertThat(bytes).isLessThanOrEqualTo(EventHubsRekeyTarget.MAX_SEND_BYTES);
            call.events().forEach(e -> seen.add(e.getBody()));
            call.ack().complete(null);
        }
        assertThat(calls).isGreaterThan(1);
        assertThat(seen).containsExactlyElementsOf(rows);
        assertThat(sent).isCompleted();
    }

    @Test
    void aFailedGroupFailsTheSendAndLaterGroupsAreNotSent() {
        sender.autoAck = false;
        CompletableFuture<Void> sent = target.send("abc-1",
                IntStream.range(0, 300).mapToObj(i -> row(i, 1500)).toList());
        sender.calls.get(0).ack().completeExceptionally(new IllegalStateException("link closed"));

        assertThat(sent).isCompletedExceptionally();
        assertThat(sender.calls).hasSize(1);
    }

    @Test
    void aTickGoesToOnePartitionByIdWithoutAKey() {
        byte[] tick = "{\"record_type\":\"tick\"}".getBytes(StandardCharsets.UTF_8);
        target.sendToPartition("2", tick);

        assertThat(sender.calls).singleElement().satisfies(call -> {
            assertThat(call.partitionId()).isEqualTo("2");
            assertThat(call.partitionKey()).isNull();
            assertThat(call.events()).extracting(EventData::getBody).containsExactly(tick);
        });
        assertThat(target.partitions()).containsExactly("0", "1", "2", "3");
    }

    @Test
    void closeClosesTheProducer() {
        target.close();
        assertThat(sender.closed).isTrue();
    }
}
