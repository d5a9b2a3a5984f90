package dev.tokenmeter.bridge.rekey;

import com.azure.identity.DefaultAzureCredentialBuilder;
import com.azure.messaging.eventhubs.EventData;
import com.azure.messaging.eventhubs.EventHubClientBuilder;
import com.azure.messaging.eventhubs.models.SendOptions;
import dev.tokenmeter.bridge.source.eventhubs.EventHubsConnectionString;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The usage hub as the re-key target, through the SDK's AMQP producer with a partition key. APIM's
 * {@code log-to-eventhub} sends each usage record with its request id as partition key, and Event Hubs hashes a key
 * to a partition itself; only a send with the same key lands on the same partition. A Kafka producer (Event Hubs'
 * Kafka endpoint) picks partitions by its own hash, and the buffered producer may send without a key, so neither
 * would meet the usage records.
 *
 * <p>Rows with one key go in one send where they fit (split by {@link #MAX_SEND_BYTES}); rows with different keys
 * cannot share a send, because a partition-key send carries exactly one key.
 */
public final class EventHubsRekeyTarget implements RekeyTarget {

    /**
     * Payload bytes per send. The Basic tier takes 256 KB per send, envelope included; staying at half of it
     * means a send never fails as too large, whatever the tier, and a row is well under 2 KB.
     */
    static final int MAX_SEND_BYTES = 128 * 1024;
    /** Allowance per event for its AMQP framing and annotations. */
    static final int EVENT_OVERHEAD_BYTES = 256;

    private final EventHubsSender sender;
    private final String description;

    EventHubsRekeyTarget(EventHubsSender sender, String description) {
        this.sender = sender;
        this.description = description;
    }

    /** Connects with the connection string when there is one, otherwise with DefaultAzureCredential. */
    public static EventHubsRekeyTarget connect(RekeyTargetSettings.EventHubs settings) {
        EventHubClientBuilder builder = new EventHubClientBuilder();
        if (settings.connectionString() != null) {
            EventHubsConnectionString cs = EventHubsConnectionString.parse(settings.connectionString());
            if (cs.entityPath() != null) {
                builder.connectionString(cs.raw());
            } else {
                builder.connectionString(cs.raw(), settings.hubName());
            }
        } else {
            builder.credential(settings.namespace(), settings.hubName(), new DefaultAzureCredentialBuilder().build());
        }
        return new EventHubsRekeyTarget(EventHubsSender.of(builder.buildAsyncProducerClient(), Duration.ofSeconds(60)),
                settings.describe());
    }

    @Override
    public CompletableFuture<Void> send(String partitionKey, List<byte[]> rows) {
        SendOptions options = new SendOptions().setPartitionKey(partitionKey);
        CompletableFuture<Void> sent = CompletableFuture.completedFuture(null);
        // one after the other, so a key's rows keep their order in the partition
        for (List<EventData> group : groups(rows)) {
            sent = sent.thenCompose(done -> sender.send(group, options));
        }
        return sent;
    }

    @Override
    public CompletableFuture<Void> sendToPartition(String partitionId, byte[] row) {
        return sender.send(List.of(event(row)), new SendOptions().setPartitionId(partitionId));
    }

    @Override
    public List<String> partitions() {
        return sender.partitionIds();
    }

    /** Consecutive rows, as many per group as fit in {@link #MAX_SEND_BYTES}; never an empty group. */
    static List<List<EventData>> groups(List<byte[]> rows) {
        List<List<EventData>> groups = new ArrayList<>();
        List<EventData> group = new ArrayList<>();
        int bytes = 0;
        for (byte[] row : rows) {
            int size = row.length + EVENT_OVERHEAD_BYTES;
            if (!group.isEmpty() && bytes + size > MAX_SEND_BYTES) {
                groups.add(group);
                group = new ArrayList<>();
                bytes = 0;
            }
            group.add(event(row));
            bytes += size;
        }
        if (!group.isEmpty()) {
            groups.add(group);
        }
        return groups;
    }

    private static EventData event(byte[] row) {
        return new EventData(row).setContentType("application/json");
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public void close() {
        sender.close();
    }
}
