package dev.tokenmeter.bridge.source.kafka;

import java.util.Locale;

/** How the Kafka source authenticates. */
public enum KafkaAuth {
    /** Plain connection (or whatever security the extra settings give): a self-run Kafka. */
    NONE("none"),
    /** Event Hubs' Kafka endpoint with SASL PLAIN: user {@code $ConnectionString}, password the connection string. */
    EVENTHUBS_CONNECTION_STRING("eventhubs-connection-string"),
    /** Event Hubs' Kafka endpoint with OAUTHBEARER tokens from DefaultAzureCredential (managed identity). */
    EVENTHUBS_OAUTH("eventhubs-oauth");

    private final String label;

    KafkaAuth(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    public static KafkaAuth parse(String value) {
        String v = value == null ? "none" : value.trim().toLowerCase(Locale.ROOT);
        for (KafkaAuth auth : values()) {
            if (auth.label.equals(v)) {
                return auth;
            }
        }
        throw new IllegalArgumentException("unknown Kafka auth '" + value
                + "': use none, eventhubs-connection-string or eventhubs-oauth");
    }
}
