package dev.tokenmeter.bridge.rekey;

import dev.tokenmeter.bridge.source.eventhubs.EventHubsConnectionString;

import java.util.Locale;

/** Where the re-key stage publishes: the usage hub over AMQP, or a Kafka topic. Messages name the flags. */
public sealed interface RekeyTargetSettings {

    RekeyTarget connect();

    String describe();

    /**
     * The usage hub. Either a namespace (DefaultAzureCredential) or a connection string reaches it.
     *
     * @param connectionString a secret: never in {@link #toString()} or {@link #describe()}
     */
    record EventHubs(String namespace, String hubName, String connectionString) implements RekeyTargetSettings {

        public EventHubs {
            EventHubsConnectionString cs = blank(connectionString) ? null : EventHubsConnectionString.parse(connectionString);
            connectionString = cs == null ? null : cs.raw();
            if (blank(namespace) && cs != null) {
                namespace = cs.fullyQualifiedNamespace();
            }
            if (blank(namespace)) {
                throw new IllegalArgumentException("the re-key stage's usage hub needs --rekey-eventhubs-namespace "
                        + "(TOKENMETER_REKEY_EVENTHUBS_NAMESPACE, <name>.servicebus.windows.net) or "
                        + "--rekey-eventhubs-connection-string; it defaults to the source's namespace only when the "
                        + "source is Event Hubs");
            }
            namespace = namespace.trim().toLowerCase(Locale.ROOT);
            if (!namespace.contains(".") && !namespace.equals("localhost")) {
                throw new IllegalArgumentException("--rekey-eventhubs-namespace must be fully qualified, e.g. "
                        + namespace + ".servicebus.windows.net");
            }
            if (blank(hubName) && cs != null) {
                hubName = cs.entityPath();
            }
            if (blank(hubName)) {
                throw new IllegalArgumentException("the re-key stage needs --rekey-eventhubs-name "
                        + "(TOKENMETER_REKEY_EVENTHUBS_NAME): the usage hub the bridge reads");
            }
            hubName = hubName.trim();
        }

        @Override
        public RekeyTarget connect() {
            return EventHubsRekeyTarget.connect(this);
        }

        @Override
        public String describe() {
            return "event hub " + namespace + "/" + hubName + " (partition key = request id, "
                    + (connectionString != null ? "connection string" : "Azure identity") + ")";
        }

        @Override
        public String toString() {
            return "EventHubs[" + describe() + "]";
        }
    }

    /** A Kafka topic, reached with the Kafka source's bootstrap servers and security protocol. */
    record Kafka(String bootstrapServers, String securityProtocol, String topic) implements RekeyTargetSettings {

        static final String THROUGH_EVENT_HUBS = "--rekey-kafka-topic cannot publish through Event Hubs' Kafka "
                + "endpoint: a Kafka client picks the partition by its own hash of the key, while APIM sends the usage "
                + "records with an Event Hubs partition key, which Event Hubs hashes differently, so the rows would "
                + "miss their usage records. Use --rekey-eventhubs-name (TOKENMETER_REKEY_EVENTHUBS_NAME) instead";

        public Kafka {
            if (blank(bootstrapServers)) {
                throw new IllegalArgumentException("--rekey-kafka-topic needs --kafka-bootstrap-servers "
                        + "(TOKENMETER_KAFKA_BOOTSTRAP_SERVERS)");
            }
            if (bootstrapServers.toLowerCase(Locale.ROOT).contains(".servicebus.")) {
                throw new IllegalArgumentException(THROUGH_EVENT_HUBS);
            }
            if (blank(topic)) {
                throw new IllegalArgumentException("--rekey-kafka-topic (TOKENMETER_REKEY_KAFKA_TOPIC) is empty");
            }
            topic = topic.trim();
            securityProtocol = blank(securityProtocol) ? null : securityProtocol.trim();
        }

        @Override
        public RekeyTarget connect() {
            return new KafkaRekeyTarget(this);
        }

        @Override
        public String describe() {
            return "kafka topic " + topic + " at " + bootstrapServers + " (record key = request id)";
        }
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }
}
