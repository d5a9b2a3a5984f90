package dev.tokenmeter.bridge.source.kafka;

import dev.tokenmeter.bridge.source.eventhubs.EventHubsConnectionString;

import java.time.Duration;
import java.util.Locale;

/**
 * Settings of the Kafka source. With an Event Hubs connection string, the bootstrap servers and the topic may be
 * left out: they are the namespace on port 9093 and the connection string's {@code EntityPath}.
 *
 * @param securityProtocol null for the usual one (SASL_SSL with Event Hubs auth, PLAINTEXT otherwise)
 * @param startOffset      where a partition with no committed offset starts: earliest or latest
 * @param sessionTimeout   how long the group waits for a silent member (a killed replica) before handing its
 *                         partitions to others
 * @param shutdownTimeout  how long stop and revocation wait for in-flight records before committing what is safe
 */
public record KafkaSettings(
        String bootstrapServers,
        String topic,
        String groupId,
        KafkaAuth auth,
        String eventHubsConnectionString,
        String securityProtocol,
        String startOffset,
        int maxPollRecords,
        Duration commitInterval,
        Duration sessionTimeout,
        Duration shutdownTimeout) {

    public KafkaSettings {
        if (auth == KafkaAuth.EVENTHUBS_CONNECTION_STRING) {
            if (eventHubsConnectionString == null || eventHubsConnectionString.isBlank()) {
                throw new IllegalArgumentException("TOKENMETER_KAFKA_AUTH=eventhubs-connection-string needs "
                        + "TOKENMETER_KAFKA_EVENTHUBS_CONNECTION_STRING");
            }
            EventHubsConnectionString cs = EventHubsConnectionString.parse(eventHubsConnectionString);
            if (bootstrapServers == null || bootstrapServers.isBlank()) {
                bootstrapServers = cs.fullyQualifiedNamespace() + ":9093";
            }
            if ((topic == null || topic.isBlank()) && cs.entityPath() != null) {
                topic = cs.entityPath();
            }
        }
        if (bootstrapServers == null || bootstrapServers.isBlank()) {
            throw new IllegalArgumentException("the kafka source needs TOKENMETER_KAFKA_BOOTSTRAP_SERVERS "
                    + "(for Event Hubs: <namespace>.servicebus.windows.net:9093)");
        }
        if (topic == null || topic.isBlank()) {
            throw new IllegalArgumentException("the kafka source needs TOKENMETER_KAFKA_TOPIC (for Event Hubs: the hub name)");
        }
        if (groupId == null || groupId.isBlank()) {
            throw new IllegalArgumentException("the kafka source needs TOKENMETER_KAFKA_GROUP_ID");
        }
        startOffset = startOffset == null ? "earliest" : startOffset.trim().toLowerCase(Locale.ROOT);
        if (!startOffset.equals("earliest") && !startOffset.equals("latest")) {
            throw new IllegalArgumentException("TOKENMETER_KAFKA_START_OFFSET must be earliest or latest");
        }
        if (maxPollRecords < 1 || commitInterval.isNegative() || shutdownTimeout.isNegative()) {
            throw new IllegalArgumentException("max poll records must be >= 1 and intervals must not be negative");
        }
    }

    /** For logs: never the connection string. */
    public String describe() {
        return "kafka topic " + topic + " at " + bootstrapServers + " (group " + groupId + ", auth " + auth.label() + ")";
    }

    @Override
    public String toString() {
        return "KafkaSettings[" + describe() + ", connection string " + (eventHubsConnectionString == null ? "none" : "***") + "]";
    }
}
