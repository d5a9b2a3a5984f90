package dev.tokenmeter.bridge.source.eventhubs;

import com.azure.messaging.eventhubs.EventData;
import com.azure.messaging.eventhubs.checkpointstore.blob.BlobCheckpointStore;
import com.azure.messaging.eventhubs.models.Checkpoint;
import com.azure.messaging.eventhubs.models.CloseContext;
import com.azure.messaging.eventhubs.models.CloseReason;
import com.azure.messaging.eventhubs.models.EventBatchContext;
import com.azure.messaging.eventhubs.models.InitializationContext;
import com.azure.messaging.eventhubs.models.PartitionContext;
import com.azure.messaging.eventhubs.models.PartitionOwnership;
import com.azure.storage.blob.BlobContainerAsyncClient;
import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.BlobContainerClientBuilder;
import com.azure.storage.blob.models.BlobItem;
import com.azure.storage.blob.models.BlobListDetails;
import com.azure.storage.blob.models.ListBlobsOptions;
import dev.tokenmeter.testkit.Azurite;
import dev.tokenmeter.bridge.source.testing.CollectingSink;
import dev.tokenmeter.bridge.source.testing.ReceivedEvents;
import dev.tokenmeter.bridge.support.Eventually;
import dev.tokenmeter.bridge.support.Records;
import dev.tokenmeter.bridge.support.TestPipeline;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The SDK's BlobCheckpointStore against Azurite: ownership claims between two processors, checkpoints written by
 * the source only after acknowledgement, a partition handed from one processor to another, and the blob layout
 * KEDA's {@code blobMetadata} checkpoint strategy reads.
 */
class BlobCheckpointStoreAzuriteTest {

    // mixed case on purpose in what the handlers get: the store writes names as given, while the event processor
    // (and KEDA) use lowercase ones, so the source must write lowercase names itself
    private static final String NAMESPACE = "TokenMeter-Test.servicebus.windows.net";
    private static final String HUB = "Usage";
    private static final String GROUP = "$Default";
    private static final String NAMESPACE_LC = NAMESPACE.toLowerCase();
    private static final String HUB_LC = HUB.toLowerCase();
    private static final String GROUP_LC = GROUP.toLowerCase();
    private static final AtomicInteger CONTAINERS = new AtomicInteger();

    private static Azurite azurite;

    @BeforeAll
    static void start() throws Exception {
        azurite = Azurite.start();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (azurite != null) {
            azurite.close();
        }
    }

    private static BlobContainerClient newContainer() {
        BlobContainerClient container = new BlobContainerClientBuilder().connectionString(azurite.connectionString())
                .containerName("checkpoints-" + CONTAINERS.incrementAndGet()).buildClient();
        container.create();
        return container;
    }

    private static BlobCheckpointStore store(BlobContainerClient container) {
        BlobContainerAsyncClient async = new BlobContainerClientBuilder().connectionString(azurite.connectionString())
                .containerName(container.getBlobContainerName()).buildAsyncClient();
        return new BlobCheckpointStore(async);
    }

    private static PartitionOwnership ownership(String partition, String owner, String eTag) {
        return new PartitionOwnership().setFullyQualifiedNamespace(NAMESPACE_LC).setEventHubName(HUB_LC)
                .setConsumerGroup(GROUP_LC).setPartitionId(partition).setOwnerId(owner).setETag(eTag);
    }

    @Test
    void onlyOneOfTwoProcessorsWinsAClaimAndAStaleClaimLoses() {
        BlobCheckpointStore store = store(newContainer());

        List<PartitionOwnership> a = store.claimOwnership(List.of(ownership("0", "processor-a", null),
                ownership("1", "processor-a", null))).collectList().block();
        assertThat(a).extracting(PartitionOwnership::getPartitionId).containsExactlyInAnyOrder("0", "1");

        List<PartitionOwnership> bFirst = store.claimOwnership(List.of(ownership("0", "processor-b", null)))
                .collectList().block();
        assertThat(bFirst).as("a partition already claimed cannot be claimed as new").isEmpty();

        // B steals partition 1 with the current ETag, as the load balancer does; A's next claim with its old ETag fails
        String eTagOf1 = a.stream().filter(o -> o.getPartitionId().equals("1")).findFirst().orElseThrow().getETag();
        List<PartitionOwnership> steal = store.claimOwnership(List.of(ownership("1", "processor-b", eTagOf1)))
                .collectList().block();
        assertThat(steal).singleElement().extracting(PartitionOwnership::getOwnerId).isEqualTo("processor-b");
        List<PartitionOwnership> stale = store.claimOwnership(List.of(ownership("1", "processor-a", eTagOf1)))
                .collectList().block();
        assertThat(stale).isEmpty();

        Map<String, String> owners = new HashMap<>();
        store.listOwnership(NAMESPACE_LC, HUB_LC, GROUP_LC).toIterable().forEach(o -> owners.put(o.getPartitionId(), o.getOwnerId()));
        assertThat(owners).containsEntry("0", "processor-a").containsEntry("1", "processor-b");
    }

    @Test
    void checkpointsFollowAcknowledgementsInTheLayoutKedaReads(@TempDir Path dir) throws Exception {
        BlobContainerClient container = newContainer();
        BlobCheckpointStore store = store(container);
        PartitionContext p0 = new PartitionContext(NAMESPACE, HUB, GROUP, "0");
        CollectingSink sink = new CollectingSink();
        EventHubsPartitions[] holder = new EventHubsPartitions[1];
        TestPipeline t = new TestPipeline(sink, dir, TestPipeline.countedBatches(10, 4), (p, pos) -> holder[0].safeToCheckpoint(p, pos));
        EventHubsPartitions handlers = new EventHubsPartitions(t.pipeline, store, Duration.ofHours(1), Duration.ofMinutes(1));
        holder[0] = handlers;
        try {
            handlers.onInitialize(new InitializationContext(p0));
            sink.hold(Records.requestId(70));
            handlers.onBatch(batch(store, p0, 0, 100));
            t.pipeline.flush();
            Eventually.await("all but the held batch acknowledged", Duration.ofSeconds(10), () -> sink.distinct() == 90);
            handlers.writeAllCheckpoints();

            String blob = "tokenmeter-test.servicebus.windows.net/usage/$default/checkpoint/0";
            assertThat(metadata(container, blob)).containsEntry("sequencenumber", "69")
                    .containsEntry("offset", ReceivedEvents.offsetOf(69));
            Checkpoint listed = store.listCheckpoints(NAMESPACE_LC, HUB_LC, GROUP_LC).blockFirst();
            assertThat(listed.getSequenceNumber()).isEqualTo(69L);

            sink.releaseAll();
            Eventually.await("all acknowledged", Duration.ofSeconds(10), () -> t.pipeline.tracker().pending() == 0);
            handlers.writeAllCheckpoints();
            assertThat(metadata(container, blob)).containsEntry("sequencenumber", "99");
            assertThat(names(container)).allSatisfy(name -> assertThat(name).isEqualTo(name.toLowerCase()));
        } finally {
            sink.releaseAll();
            t.pipeline.close(Duration.ofSeconds(5));
        }
    }

    @Test
    void aPartitionMovesToAnotherProcessorWithoutLosingUnacknowledgedEvents(@TempDir Path dir) throws Exception {
        BlobContainerClient container = newContainer();
        BlobCheckpointStore store = store(container);
        PartitionContext p0 = new PartitionContext(NAMESPACE, HUB, GROUP, "0");
        CollectingSink sink = new CollectingSink();

        // processor A: the batch holding event 40 is never acknowledged before A loses the partition
        EventHubsPartitions[] a = new EventHubsPartitions[1];
        TestPipeline ta = new TestPipeline(sink, dir.resolve("a"), TestPipeline.countedBatches(10, 4), (p, pos) -> a[0].safeToCheckpoint(p, pos));
        a[0] = new EventHubsPartitions(ta.pipeline, store, Duration.ofHours(1), Duration.ofMinutes(1));
        a[0].onInitialize(new InitializationContext(p0));
        sink.hold(Records.requestId(40));
        a[0].onBatch(batch(store, p0, 0, 80));
        ta.pipeline.flush();
        Eventually.await("A's other batches acknowledged", Duration.ofSeconds(10), () -> sink.distinct() == 70);
        a[0].onClose(new CloseContext(p0, CloseReason.LOST_PARTITION_OWNERSHIP));

        // processor B starts where the store says, as the SDK does: after the checkpointed event
        Checkpoint checkpoint = store.listCheckpoints(NAMESPACE_LC, HUB_LC, GROUP_LC).blockFirst();
        assertThat(checkpoint.getSequenceNumber()).isEqualTo(39L);
        EventHubsPartitions[] b = new EventHubsPartitions[1];
        CollectingSink sinkB = new CollectingSink();
        TestPipeline tb = new TestPipeline(sinkB, dir.resolve("b"), TestPipeline.countedBatches(10, 4), (p, pos) -> b[0].safeToCheckpoint(p, pos));
        b[0] = new EventHubsPartitions(tb.pipeline, store, Duration.ofHours(1), Duration.ofMinutes(1));
        try {
            b[0].onInitialize(new InitializationContext(p0));
            b[0].onBatch(batch(store, p0, (int) (checkpoint.getSequenceNumber() + 1), 80));
            tb.pipeline.flush();
            Eventually.await("B delivered the rest", Duration.ofSeconds(10), () -> tb.pipeline.tracker().pending() == 0);
            b[0].writeAllCheckpoints();

            for (int i = 0; i < 80; i++) {
                String id = Records.requestId(i);
                assertThat(sink.acknowledged(id) || sinkB.acknowledged(id)).as("event %d delivered", i).isTrue();
            }
            assertThat(store.listCheckpoints(NAMESPACE_LC, HUB_LC, GROUP_LC).blockFirst().getSequenceNumber()).isEqualTo(79L);
        } finally {
            sink.releaseAll();
            ta.pipeline.close(Duration.ofSeconds(5));
            tb.pipeline.close(Duration.ofSeconds(5));
        }
    }

    private static EventBatchContext batch(BlobCheckpointStore store, PartitionContext partition, int from, int to) {
        List<EventData> events = new ArrayList<>();
        for (int i = from; i < to; i++) {
            events.add(ReceivedEvents.event(i, Records.valid(i)));
        }
        return new EventBatchContext(partition, events, store, null);
    }

    private static Map<String, String> metadata(BlobContainerClient container, String name) {
        for (BlobItem item : container.listBlobs(new ListBlobsOptions().setDetails(new BlobListDetails().setRetrieveMetadata(true)), null)) {
            if (item.getName().equals(name)) {
                return item.getMetadata();
            }
        }
        throw new AssertionError("no blob " + name + " among " + names(container));
    }

    private static List<String> names(BlobContainerClient container) {
        List<String> names = new ArrayList<>();
        container.listBlobs().forEach(item -> names.add(item.getName()));
        return names;
    }
}
