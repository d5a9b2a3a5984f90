package dev.tokenmeter.bridge.rekey;

import com.azure.messaging.eventhubs.EventData;
import com.azure.messaging.eventhubs.EventHubProducerAsyncClient;
import com.azure.messaging.eventhubs.models.SendOptions;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The two calls the Event Hubs target makes on the SDK's {@link EventHubProducerAsyncClient}: a seam, so tests can
 * see the send options and groups it builds without a namespace.
 */
interface EventHubsSender extends AutoCloseable {

    /** One send of events that must all go where {@code options} say (one partition key, or one partition id). */
    CompletableFuture<Void> send(List<EventData> events, SendOptions options);

    List<String> partitionIds();

    @Override
    void close();

    static EventHubsSender of(EventHubProducerAsyncClient client, Duration timeout) {
        return new EventHubsSender() {
            @Override
            public CompletableFuture<Void> send(List<EventData> events, SendOptions options) {
                return client.send(events, options).toFuture();
            }

            @Override
            public List<String> partitionIds() {
                return client.getPartitionIds().collectList().block(timeout);
            }

            @Override
            public void close() {
                client.close();
            }
        };
    }
}
