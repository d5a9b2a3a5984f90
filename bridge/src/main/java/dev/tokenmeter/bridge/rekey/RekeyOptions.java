package dev.tokenmeter.bridge.rekey;

import dev.tokenmeter.bridge.source.kafka.KafkaAuth;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.Map;

/**
 * The re-key stage's flags ({@code --mode rekey}), a mixin of the bridge's command. Each has an environment
 * variable of the same meaning; the source is configured with the bridge's own source flags.
 */
public final class RekeyOptions {

    @Option(names = "--rekey-eventhubs-namespace", defaultValue = "${env:TOKENMETER_REKEY_EVENTHUBS_NAMESPACE}",
            description = "Re-key: namespace of the usage hub, <name>.servicebus.windows.net "
                    + "(env TOKENMETER_REKEY_EVENTHUBS_NAMESPACE; default: the source's namespace).")
    String eventHubsNamespace;

    @Option(names = "--rekey-eventhubs-name", defaultValue = "${env:TOKENMETER_REKEY_EVENTHUBS_NAME}",
            description = "Re-key: the usage hub, which the bridge reads (env TOKENMETER_REKEY_EVENTHUBS_NAME).")
    String eventHubsName;

    @Option(names = "--rekey-eventhubs-connection-string",
            defaultValue = "${env:TOKENMETER_REKEY_EVENTHUBS_CONNECTION_STRING}", arity = "1",
            description = "Re-key: instead of DefaultAzureCredential; prefer the environment variable "
                    + "TOKENMETER_REKEY_EVENTHUBS_CONNECTION_STRING.")
    String eventHubsConnectionString;

    @Option(names = "--rekey-kafka-topic", defaultValue = "${env:TOKENMETER_REKEY_KAFKA_TOPIC}",
            description = "Re-key into this Kafka topic instead of an event hub (plain Kafka only), with the Kafka "
                    + "source's bootstrap servers (env TOKENMETER_REKEY_KAFKA_TOPIC).")
    String kafkaTopic;

    @Option(names = "--rekey-tick-interval-ms", defaultValue = "${env:TOKENMETER_REKEY_TICK_INTERVAL_MS:-15000}",
            description = "Re-key: a tick row to every partition of the target this often "
                    + "(env TOKENMETER_REKEY_TICK_INTERVAL_MS; default ${DEFAULT-VALUE}).")
    long tickIntervalMs;

    @Option(names = "--rekey-max-in-flight-sends", defaultValue = "${env:TOKENMETER_REKEY_MAX_IN_FLIGHT_SENDS:-256}",
            description = "Re-key: unacknowledged sends before reading waits "
                    + "(env TOKENMETER_REKEY_MAX_IN_FLIGHT_SENDS; default ${DEFAULT-VALUE}).")
    int maxInFlightSends;

    /**
     * The one target these options name.
     *
     * @param sourceNamespace the namespace the source reads, the usage hub's default; null when the source has none
     */
    public RekeyTargetSettings target(String sourceNamespace, String kafkaBootstrapServers, String kafkaAuth,
                                      String kafkaSecurityProtocol) {
        boolean eventHubs = !blank(eventHubsName) || !blank(eventHubsConnectionString) || !blank(eventHubsNamespace);
        boolean kafka = !blank(kafkaTopic);
        if (eventHubs && kafka) {
            throw new IllegalArgumentException("give the re-key stage one target: --rekey-eventhubs-name "
                    + "(TOKENMETER_REKEY_EVENTHUBS_NAME) or --rekey-kafka-topic (TOKENMETER_REKEY_KAFKA_TOPIC), not both");
        }
        if (kafka) {
            if (KafkaAuth.parse(kafkaAuth) != KafkaAuth.NONE) {
                throw new IllegalArgumentException(RekeyTargetSettings.Kafka.THROUGH_EVENT_HUBS);
            }
            return new RekeyTargetSettings.Kafka(kafkaBootstrapServers, kafkaSecurityProtocol, kafkaTopic);
        }
        if (eventHubs) {
            // an explicit namespace, else the connection string's, else the source's
            String namespace = blank(eventHubsNamespace) && blank(eventHubsConnectionString) ? sourceNamespace
                    : eventHubsNamespace;
            return new RekeyTargetSettings.EventHubs(namespace, eventHubsName, eventHubsConnectionString);
        }
        throw new IllegalArgumentException("--mode rekey needs a target: --rekey-eventhubs-name "
                + "(TOKENMETER_REKEY_EVENTHUBS_NAME), the usage hub, or --rekey-kafka-topic (TOKENMETER_REKEY_KAFKA_TOPIC)");
    }

    public RekeySettings settings(Duration initialBackoff, Duration maxBackoff, Map<String, String> env) {
        return new RekeySettings(Duration.ofMillis(tickIntervalMs), maxInFlightSends, initialBackoff, maxBackoff,
                RekeySettings.instanceId(env));
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }
}
