package dev.tokenmeter.bridge.rekey;

import dev.tokenmeter.bridge.source.testing.DockerEngine;
import com.azure.messaging.eventhubs.EventData;
import com.azure.messaging.eventhubs.EventHubClientBuilder;
import com.azure.messaging.eventhubs.EventHubConsumerClient;
import com.azure.messaging.eventhubs.EventHubProducerClient;
import com.azure.messaging.eventhubs.models.EventPosition;
import com.azure.messaging.eventhubs.models.PartitionEvent;
import com.azure.messaging.eventhubs.models.SendOptions;
import dev.tokenmeter.bridge.join.JoinRowCodec;
import dev.tokenmeter.bridge.join.LlmUsage;
import dev.tokenmeter.bridge.join.Tick;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.testcontainers.azure.AzuriteContainer;
import org.testcontainers.azure.EventHubsEmulatorContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.images.builder.Transferable;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Event Hubs target through the SDK's AMQP producer against Microsoft's Event Hubs emulator: for each request
 * id, a usage record sent the way APIM's {@code log-to-eventhub} sends it (partition key = request id) and the
 * {@code llm_usage} row the target sends land on the same partition; ticks land on every partition.
 *
 * <p>Needs a Docker engine; without one it is skipped with a message saying so (also under {@code CI=true}), as
 * {@code EventHubsEmulatorTest} is. Not run on the development machine, which has no Docker.
 */
class EventHubsRekeyEmulatorTest {

    private static final String EMULATOR_IMAGE = System.getProperty("tokenmeter.eventhubsEmulatorImage",
            "mcr.microsoft.com/azure-messaging/eventhubs-emulator:2.1.0");
    private static final String AZURITE_IMAGE = System.getProperty("tokenmeter.azuriteImage",
            "mcr.microsoft.com/azure-storage/azurite:3.37.0");
    private static final String HUB = "usage";
    private static final int PARTITIONS = 4;
    private static final int IDS = 40;
    private static final String EMULATOR_CONFIG = """
            {
              "UserConfig": {
                "NamespaceConfig": [
                  {
                    "Type": "EventHub",
                    "Name": "emulatorns1",
                    "Entities": [
                      { "Name": "%s", "PartitionCount": "%d", "ConsumerGroups": [ { "Name": "rekey" } ] }
                    ]
                  }
                ],
                "LoggingConfig": { "Type": "File" }
              }
            }
            """.formatted(HUB, PARTITIONS);

    @BeforeEach
    void requireDocker() {
        DockerEngine.require("the Event Hubs emulator test of the re-key target");
    }

    @Test
    void eachRowLandsOnThePartitionOfTheUsageRecordWithTheSameKeyAndTicksReachEveryPartition() throws Exception {
        Network network = Network.newNetwork();
        AzuriteContainer azurite = new AzuriteContainer(AZURITE_IMAGE).withNetwork(network);
        EventHubsEmulatorContainer emulator = new EventHubsEmulatorContainer(EMULATOR_IMAGE)
                .acceptLicense()
                .withNetwork(network)
                .withConfig(Transferable.of(EMULATOR_CONFIG))
                .withAzuriteContainer(azurite)
                .withStartupTimeout(Duration.ofMinutes(3));
        try {
            emulator.start();
            // the settings refuse the bare "localhost" Testcontainers names; the loopback address is the same host
            String connection = emulator.getConnectionString().replace("Endpoint=sb://localhost:", "Endpoint=sb://127.0.0.1:");
            List<String> ids = IntStream.range(0, IDS).mapToObj(i -> "%08x-4b1d-4f8e-9a51-0c2d3e4f5a61".formatted(i)).toList();

            try (EventHubProducerClient apim = new EventHubClientBuilder().connectionString(connection, HUB)
                    .buildProducerClient()) {
                for (String id : ids) {
                    apim.send(List.of(new EventData("{\"request_id\":\"" + id + "\"}")),
                            new SendOptions().setPartitionKey(id));
                }
            }
            RekeyTarget target = new RekeyTargetSettings.EventHubs(null, HUB, connection).connect();
            try {
                for (String id : ids) {
                    LlmUsage usage = new LlmUsage(id, Instant.parse("2026-11-27T08:00:00Z"), "gpt-4o", "gpt-4o-2024-08-06",
                            "2024-10-21", true, 10, 5, 15, null, "chatcmpl-" + id);
                    target.send(id, List.of(JoinRowCodec.write(usage))).get(60, TimeUnit.SECONDS);
                }
                byte[] tick = JoinRowCodec.write(new Tick(Instant.parse("2026-11-27T08:00:01Z"), "emulator-test"));
                assertThat(target.partitions()).hasSize(PARTITIONS);
                for (String partition : target.partitions()) {
                    target.sendToPartition(partition, tick).get(60, TimeUnit.SECONDS);
                }
            } finally {
                target.close();
            }

            Map<String, String> recordPartition = new HashMap<>();
            Map<String, String> rowPartition = new HashMap<>();
            Set<String> ticked = new HashSet<>();
            try (EventHubConsumerClient consumer = new EventHubClientBuilder().connectionString(connection, HUB)
                    .consumerGroup("rekey").buildConsumerClient()) {
                for (String partition : consumer.getPartitionIds()) {
                    for (PartitionEvent event : consumer.receiveFromPartition(partition, 10 * IDS,
                            EventPosition.earliest(), Duration.ofSeconds(10))) {
                        byte[] body = event.getData().getBody();
                        if (JoinRowCodec.read(body) instanceof JoinRowCodec.Read.Row row) {
                            if (row.row() instanceof LlmUsage usage) {
                                rowPartition.put(usage.correlationId(), partition);
                            } else {
                                ticked.add(partition);
                            }
                        } else {
                            String text = new String(body, StandardCharsets.UTF_8);
                            recordPartition.put(text.substring(text.indexOf(':') + 2, text.length() - 2), partition);
                        }
                    }
                }
            }
            assertThat(rowPartition).hasSize(IDS).isEqualTo(recordPartition);
            assertThat(new HashSet<>(rowPartition.values())).as("the ids spread over the partitions").hasSizeGreaterThan(1);
            assertThat(ticked).hasSize(PARTITIONS);
        } finally {
            emulator.stop();
            azurite.stop();
            network.close();
        }
    }
}
