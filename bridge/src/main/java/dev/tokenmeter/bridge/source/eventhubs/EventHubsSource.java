package dev.tokenmeter.bridge.source.eventhubs;

import com.azure.core.credential.TokenCredential;
import com.azure.identity.DefaultAzureCredentialBuilder;
import com.azure.messaging.eventhubs.CheckpointStore;
import com.azure.messaging.eventhubs.EventProcessorClient;
import com.azure.messaging.eventhubs.EventProcessorClientBuilder;
import com.azure.messaging.eventhubs.checkpointstore.blob.BlobCheckpointStore;
import com.azure.messaging.eventhubs.models.EventPosition;
import com.azure.storage.blob.BlobContainerAsyncClient;
import com.azure.storage.blob.BlobContainerClientBuilder;
import dev.tokenmeter.bridge.pipeline.Intake;
import dev.tokenmeter.bridge.pipeline.Position;
import dev.tokenmeter.bridge.source.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Usage records from Azure Event Hubs through the SDK's {@link EventProcessorClient}: partitions are balanced
 * between replicas by ownership claims in a Blob container, which also holds the checkpoints (the layout KEDA's
 * {@code blobMetadata} checkpoint strategy reads). See {@link EventHubsPartitions} for the checkpoint rules.
 */
public final class EventHubsSource implements Source {

    private static final Logger LOG = LoggerFactory.getLogger(EventHubsSource.class);

    private final EventHubsSettings settings;
    private final CountDownLatch stopRequested = new CountDownLatch(1);
    private volatile EventHubsPartitions partitions;
    private volatile boolean started;

    public EventHubsSource(EventHubsSettings settings) {
        this.settings = settings;
    }

    @Override
    public void run(Intake pipeline) throws InterruptedException {
        TokenCredential credential = settings.usesConnectionString() && settings.checkpointsUseConnectionString()
                ? null : new DefaultAzureCredentialBuilder().build();
        CheckpointStore store = new BlobCheckpointStore(checkpointContainer(credential));
        // three missed heartbeats, and never less than the time a slow sink may hold a batch handler in backpressure
        Duration heartbeatTimeout = settings.maxWait().multipliedBy(3).compareTo(Duration.ofSeconds(60)) > 0
                ? settings.maxWait().multipliedBy(3) : Duration.ofSeconds(60);
        EventHubsPartitions handlers = new EventHubsPartitions(pipeline, store, settings.checkpointInterval(),
                heartbeatTimeout);
        EventProcessorClient processor = processor(handlers, store, credential);
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tokenmeter-eventhubs-checkpoints");
            t.setDaemon(true);
            return t;
        });
        long tick = Math.max(100, Math.min(1000, settings.checkpointInterval().toMillis()));
        timer.scheduleWithFixedDelay(handlers::writeDueCheckpoints, tick, tick, TimeUnit.MILLISECONDS);
        partitions = handlers;
        try {
            processor.start();
            started = true;
            LOG.info("processing {} as {}", settings.describe(), processor.getIdentifier());
            stopRequested.await();
            // settle what is in flight, checkpoint it, then stop: stop() releases ownership so others take over now
            handlers.stopAccepting();
            pipeline.flush();
            if (!pipeline.tracker().awaitDrained(System.nanoTime() + settings.shutdownTimeout().toNanos())) {
                LOG.warn("stopping with {} records unacknowledged; they are not checkpointed", pipeline.tracker().pending());
            }
            handlers.writeAllCheckpoints();
        } finally {
            timer.shutdownNow();
            processor.stop(Duration.ofSeconds(30));
        }
    }

    private EventProcessorClient processor(EventHubsPartitions handlers, CheckpointStore store, TokenCredential credential) {
        EventPosition initial = settings.startPosition().equals("latest") ? EventPosition.latest() : EventPosition.earliest();
        EventProcessorClientBuilder builder = new EventProcessorClientBuilder()
                .consumerGroup(settings.consumerGroup())
                .checkpointStore(store)
                .processEventBatch(handlers::onBatch, settings.maxBatchSize(), settings.maxWait())
                .processPartitionInitialization(handlers::onInitialize)
                .processPartitionClose(handlers::onClose)
                .processError(handlers::onError)
                // only for partitions without a checkpoint; the SDK's own default (latest) would skip every event
                // enqueued before the bridge first ran
                .initialPartitionEventPosition(partition -> initial);
        if (settings.usesConnectionString()) {
            EventHubsConnectionString cs = EventHubsConnectionString.parse(settings.connectionString());
            if (cs.entityPath() != null) {
                builder.connectionString(cs.raw());
            } else {
                builder.connectionString(cs.raw(), settings.hubName());
            }
        } else {
            builder.credential(settings.namespace(), settings.hubName(), credential);
        }
        return builder.buildEventProcessorClient();
    }

    private BlobContainerAsyncClient checkpointContainer(TokenCredential credential) {
        BlobContainerClientBuilder builder = new BlobContainerClientBuilder();
        if (settings.checkpointsUseConnectionString()) {
            builder.connectionString(settings.checkpointConnectionString()).containerName(settings.checkpointContainer());
        } else {
            builder.endpoint(settings.checkpointContainerUrl()).credential(credential);
        }
        return builder.buildAsyncClient();
    }

    @Override
    public void safeToCheckpoint(String partition, Position position) {
        EventHubsPartitions p = partitions;
        if (p != null) {
            p.safeToCheckpoint(partition, position);
        }
    }

    @Override
    public void stop() {
        stopRequested.countDown();
    }

    @Override
    public boolean ready() {
        EventHubsPartitions p = partitions;
        return p != null && p.ready();
    }

    /** Whether the event processor has been started (it connects and claims partitions in the background). */
    public boolean started() {
        return started;
    }

    /** The event processor's last reported error, or null. */
    public String lastError() {
        EventHubsPartitions p = partitions;
        return p == null ? null : p.lastError();
    }

    @Override
    public String describe() {
        return settings.describe();
    }
}
