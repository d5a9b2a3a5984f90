package dev.tokenmeter.bridge.source.eventhubs;

import dev.tokenmeter.bridge.source.testing.DockerEngine;
import com.azure.messaging.eventhubs.EventData;
import com.azure.messaging.eventhubs.EventDataBatch;
import com.azure.messaging.eventhubs.EventHubClientBuilder;
import com.azure.messaging.eventhubs.EventHubProducerClient;
import com.azure.messaging.eventhubs.PartitionProperties;
import com.azure.messaging.eventhubs.models.CreateBatchOptions;
import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.BlobContainerClientBuilder;
import com.azure.storage.blob.models.BlobItem;
import com.azure.storage.blob.models.BlobListDetails;
import com.azure.storage.blob.models.ListBlobsOptions;
import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenmeter.bridge.openmeter.OpenMeterSink;
import dev.tokenmeter.bridge.support.Eventually;
import dev.tokenmeter.bridge.support.Records;
import dev.tokenmeter.bridge.support.TestPipeline;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.azure.AzuriteContainer;
import org.testcontainers.azure.EventHubsEmulatorContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.images.builder.Transferable;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole {@link EventHubsSource} path: the SDK's {@code EventProcessorClient} against Microsoft's Event Hubs
 * emulator and {@code BlobCheckpointStore} on Azurite, both containers started by Testcontainers on one network,
 * delivering to the OpenMeter contract server. Every record arrives, checkpoints reach each partition's last event
 * in the lowercase blob layout KEDA reads, and a second processor on the same checkpoints starts after them.
 *
 * <p>Needs a Docker engine (and pulls the two images the first time). Without one the class is skipped with a
 * message saying so, also under {@code CI=true}: the project's CI has no Docker engine, and the handler logic is
 * covered without it by {@link EventHubsPartitionsTest}, {@link BlobCheckpointStoreAzuriteTest} and
 * {@link EventHubsSourceTest}. The images can be overridden with {@code -Dtokenmeter.eventhubsEmulatorImage=...}
 * and {@code -Dtokenmeter.azuriteImage=...}.
 */
class EventHubsEmulatorTest {

    private static final String EMULATOR_IMAGE = System.getProperty("tokenmeter.eventhubsEmulatorImage",
            "mcr.microsoft.com/azure-messaging/eventhubs-emulator:2.1.0");
    private static final String AZURITE_IMAGE = System.getProperty("tokenmeter.azuriteImage",
            "mcr.microsoft.com/azure-storage/azurite:3.37.0");

    private static final String HUB = "usage";
    // lowercase, as the docs recommend: the SDK lowercases it in blob paths anyway
    private static final String GROUP = "tokenmeter";
    private static final int PARTITIONS = 4;
    private static final int RECORDS = 400;
    private static final int MORE = 40;
    private static final String CHECKPOINTS = "tokenmeter-checkpoints";
    private static final Duration DELIVERY_TIMEOUT = Duration.ofMinutes(4);

    /** The emulator's entities (its documented Config.json): one hub with four partitions and our consumer group. */
    private static final String EMULATOR_CONFIG = """
            {
              "UserConfig": {
                "NamespaceConfig": [
                  {
                    "Type": "EventHub",
                    "Name": "emulatorns1",
                    "Entities": [
                      {
                        "Name": "%s",
                        "PartitionCount": "%d",
                        "ConsumerGroups": [ { "Name": "%s" } ]
                      }
                    ]
                  }
                ],
                "LoggingConfig": { "Type": "File" }
              }
            }
            """.formatted(HUB, PARTITIONS, GROUP);

    @BeforeEach
    void requireDocker() {
        DockerEngine.require("the Event Hubs emulator test");
    }

    @Test
    void everyRecordArrivesCheckpointsReachTheEndAndTheNextProcessorStartsAfterThem(@TempDir Path dir)
            throws Exception {
        Network network = Network.newNetwork();
        AzuriteContainer azurite = new QuietAzurite(AZURITE_IMAGE).withNetwork(network);
        EventHubsEmulatorContainer emulator = new EventHubsEmulatorContainer(EMULATOR_IMAGE)
                .acceptLicense()
                .withNetwork(network)
                .withConfig(Transferable.of(EMULATOR_CONFIG))
                .withAzuriteContainer(azurite)
                .withStartupTimeout(Duration.ofMinutes(3));
        try (OpenMeterContractServer openMeter = OpenMeterContractServer.start()) {
            emulator.start(); // starts Azurite first: the emulator depends on it
            String eventHubs = hostReachable(emulator.getConnectionString());
            String storage = azurite.getConnectionString();
            BlobContainerClient container = new BlobContainerClientBuilder().connectionString(storage)
                    .containerName(CHECKPOINTS).buildClient();
            container.create();
            EventHubsSettings settings = new EventHubsSettings(null, HUB, GROUP, eventHubs, "earliest", 100,
                    Duration.ofSeconds(1), Duration.ofSeconds(1), null, storage, CHECKPOINTS, Duration.ofSeconds(30));

            try (EventHubProducerClient producer = new EventHubClientBuilder().connectionString(eventHubs, HUB)
                    .buildProducerClient()) {
                List<String> partitions = producer.getPartitionIds().stream().toList();
                assertThat(partitions).hasSize(PARTITIONS);
                // the namespace as the processor names it in blob paths: the connection string's host, lowercase
                String namespace = producer.getFullyQualifiedNamespace().toLowerCase(Locale.ROOT);
                produce(producer, partitions, 0, RECORDS);

                // first processor: everything from the earliest event, then a clean stop
                try (RunningSource first = RunningSource.start(settings, openMeter, dir.resolve("first"))) {
                    first.await("all " + RECORDS + " records at OpenMeter",
                            () -> deliveredIds(openMeter).containsAll(ids(0, RECORDS)));
                    first.stop();
                    assertThat(first.recordsIn()).isGreaterThanOrEqualTo(RECORDS);
                }
                assertThat(openMeter.violations()).isEmpty();
                assertThat(deliveredIds(openMeter)).isEqualTo(ids(0, RECORDS));
                assertCheckpointsAtLastEvents(container, producer, partitions, namespace);

                // second processor on the same checkpoint store: it starts after the checkpoints, so it gets only
                // what is produced now. Within a partition events arrive in order, and stop() drains what is in
                // flight, so any event from before the checkpoints would have reached OpenMeter by the end.
                int ingestedBefore = openMeter.ingestedEvents().size();
                try (RunningSource second = RunningSource.start(settings, openMeter, dir.resolve("second"))) {
                    produce(producer, partitions, RECORDS, RECORDS + MORE);
                    second.await("the " + MORE + " new records at OpenMeter",
                            () -> deliveredIds(openMeter).containsAll(ids(RECORDS, RECORDS + MORE)));
                    second.stop();
                    assertThat(second.recordsIn()).as("records the second processor received").isEqualTo(MORE);
                }
                List<JsonNode> ingested = new ArrayList<>(openMeter.ingestedEvents());
                List<JsonNode> secondRun = ingested.subList(ingestedBefore, ingested.size());
                assertThat(secondRun).extracting(e -> e.get("id").asText())
                        .as("nothing from before the checkpoints is delivered again")
                        .allSatisfy(id -> assertThat(ids(RECORDS, RECORDS + MORE)).contains(id));
                assertThat(openMeter.violations()).isEmpty();
                assertCheckpointsAtLastEvents(container, producer, partitions, namespace);
                assertThat(names(container)).allSatisfy(name -> assertThat(name).isEqualTo(name.toLowerCase(Locale.ROOT)));
            }
        } finally {
            emulator.stop();
            azurite.stop();
            network.close();
        }
    }

    /** Record i goes to partition i % n, in batches of at most what one send may carry. */
    private static void produce(EventHubProducerClient producer, List<String> partitions, int from, int to) {
        for (int k = 0; k < partitions.size(); k++) {
            CreateBatchOptions options = new CreateBatchOptions().setPartitionId(partitions.get(k));
            EventDataBatch batch = producer.createBatch(options);
            for (int i = from; i < to; i++) {
                if (i % partitions.size() != k) {
                    continue;
                }
                EventData event = new EventData(Records.valid(i));
                if (!batch.tryAdd(event)) {
                    producer.send(batch);
                    batch = producer.createBatch(options);
                    if (!batch.tryAdd(event)) {
                        throw new IllegalStateException("record " + i + " does not fit an empty batch");
                    }
                }
            }
            if (batch.getCount() > 0) {
                producer.send(batch);
            }
        }
    }

    /** Each partition's checkpoint blob holds its last event's sequence number and offset. */
    private static void assertCheckpointsAtLastEvents(BlobContainerClient container, EventHubProducerClient producer,
                                                      List<String> partitions, String namespace) {
        Map<String, Map<String, String>> metadata = metadata(container);
        for (String partition : partitions) {
            PartitionProperties last = producer.getPartitionProperties(partition);
            String blob = namespace + "/" + HUB + "/" + GROUP + "/checkpoint/" + partition;
            assertThat(metadata).as("checkpoint blobs in %s", CHECKPOINTS).containsKey(blob);
            assertThat(metadata.get(blob)).as("checkpoint of partition %s", partition)
                    .containsEntry("sequencenumber", Long.toString(last.getLastEnqueuedSequenceNumber()))
                    .containsEntry("offset", last.getLastEnqueuedOffset());
        }
    }

    /**
     * The emulator's connection string with a host the settings accept: Testcontainers names the local engine
     * {@code localhost}, which the source rejects as not fully qualified; the loopback address is the same host.
     */
    private static String hostReachable(String connectionString) {
        return connectionString.replace("Endpoint=sb://localhost:", "Endpoint=sb://127.0.0.1:");
    }

    private static Set<String> ids(int from, int to) {
        return IntStream.range(from, to).mapToObj(Records::requestId).collect(Collectors.toSet());
    }

    private static Set<String> deliveredIds(OpenMeterContractServer openMeter) {
        Set<String> ids = new HashSet<>();
        for (JsonNode event : openMeter.ingestedEvents()) {
            ids.add(event.get("id").asText());
        }
        return ids;
    }

    private static Map<String, Map<String, String>> metadata(BlobContainerClient container) {
        Map<String, Map<String, String>> all = new HashMap<>();
        for (BlobItem item : container.listBlobs(new ListBlobsOptions().setDetails(new BlobListDetails()
                .setRetrieveMetadata(true)), null)) {
            all.put(item.getName(), item.getMetadata() == null ? Map.of() : item.getMetadata());
        }
        return all;
    }

    private static List<String> names(BlobContainerClient container) {
        List<String> names = new ArrayList<>();
        container.listBlobs().forEach(item -> names.add(item.getName()));
        return names;
    }

    /**
     * Azurite as the npm launcher runs it: without telemetry, and without its API version check (the storage
     * SDK, or the emulator's own, may speak a newer service version than this Azurite release knows).
     */
    private static final class QuietAzurite extends AzuriteContainer {
        QuietAzurite(String image) {
            super(image);
        }

        @Override
        protected void configure() {
            super.configure();
            withCommand("azurite --blobHost 0.0.0.0 --queueHost 0.0.0.0 --tableHost 0.0.0.0 "
                    + "--skipApiVersionCheck --disableTelemetry");
        }
    }

    /** The source on its own thread with a pipeline to the OpenMeter contract server, wired as BridgeMain does. */
    private static final class RunningSource implements AutoCloseable {
        private final EventHubsSource source;
        private final TestPipeline pipeline;
        private final ExecutorService thread;
        private final Future<?> run;

        private RunningSource(EventHubsSource source, TestPipeline pipeline, ExecutorService thread, Future<?> run) {
            this.source = source;
            this.pipeline = pipeline;
            this.thread = thread;
            this.run = run;
        }

        static RunningSource start(EventHubsSettings settings, OpenMeterContractServer openMeter, Path deadLetters)
                throws Exception {
            EventHubsSource source = new EventHubsSource(settings);
            TestPipeline pipeline = new TestPipeline(new OpenMeterSink(openMeter.baseUri(), null, Duration.ofSeconds(10)),
                    deadLetters, TestPipeline.settings(100, 4), source);
            ExecutorService thread = Executors.newSingleThreadExecutor();
            Future<?> run = thread.submit(() -> {
                source.run(pipeline.pipeline);
                return null;
            });
            return new RunningSource(source, pipeline, thread, run);
        }

        /** Waits for the condition; fails early if the source ended, and says what the processor last reported. */
        void await(String what, BooleanSupplier condition) throws Exception {
            try {
                Eventually.await(what, DELIVERY_TIMEOUT, () -> run.isDone() || condition.getAsBoolean());
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "; last event processor error: " + source.lastError(), e);
            }
            if (run.isDone()) {
                run.get(); // rethrows what ended it
                throw new AssertionError("the source stopped before " + what + "; last event processor error: "
                        + source.lastError());
            }
        }

        /** Stops as on SIGTERM: settles what is in flight, writes checkpoints, releases the partitions. */
        void stop() throws Exception {
            source.stop();
            run.get(90, TimeUnit.SECONDS);
        }

        double recordsIn() {
            return pipeline.metric("tokenmeter_records_in_total");
        }

        @Override
        public void close() throws InterruptedException {
            source.stop();
            try {
                run.get(90, TimeUnit.SECONDS);
            } catch (Exception e) {
                run.cancel(true);
            } finally {
                thread.shutdownNow();
                pipeline.pipeline.close(Duration.ofSeconds(5));
            }
        }
    }
}
