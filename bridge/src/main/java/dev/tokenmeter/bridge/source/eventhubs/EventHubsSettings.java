package dev.tokenmeter.bridge.source.eventhubs;

import java.time.Duration;
import java.util.Locale;

/**
 * Settings of the Event Hubs source. Either a namespace (DefaultAzureCredential) or a connection string reaches
 * the hub; either a container URL (DefaultAzureCredential) or a storage connection string and container name
 * reaches the checkpoint store.
 */
public record EventHubsSettings(
        String namespace,
        String hubName,
        String consumerGroup,
        String connectionString,
        String startPosition,
        int maxBatchSize,
        Duration maxWait,
        Duration checkpointInterval,
        String checkpointContainerUrl,
        String checkpointConnectionString,
        String checkpointContainer,
        Duration shutdownTimeout) {

    public EventHubsSettings {
        EventHubsConnectionString cs = blank(connectionString) ? null : EventHubsConnectionString.parse(connectionString);
        if (cs == null && blank(namespace)) {
            throw new IllegalArgumentException("the eventhubs source needs TOKENMETER_EVENTHUBS_NAMESPACE "
                    + "(<name>.servicebus.windows.net, with a managed identity) or TOKENMETER_EVENTHUBS_CONNECTION_STRING");
        }
        if (blank(namespace)) {
            namespace = cs.fullyQualifiedNamespace();
        }
        namespace = namespace.trim().toLowerCase(Locale.ROOT);
        // a bare name is the usual mistake; localhost is what the Event Hubs emulator's connection strings name
        if (!namespace.contains(".") && !namespace.equals("localhost")) {
            throw new IllegalArgumentException("TOKENMETER_EVENTHUBS_NAMESPACE must be fully qualified, e.g. "
                    + namespace + ".servicebus.windows.net");
        }
        if (blank(hubName) && cs != null) {
            hubName = cs.entityPath();
        }
        if (blank(hubName)) {
            throw new IllegalArgumentException("the eventhubs source needs TOKENMETER_EVENTHUBS_NAME");
        }
        consumerGroup = blank(consumerGroup) ? "$Default" : consumerGroup.trim();
        startPosition = blank(startPosition) ? "earliest" : startPosition.trim().toLowerCase(Locale.ROOT);
        if (!startPosition.equals("earliest") && !startPosition.equals("latest")) {
            throw new IllegalArgumentException("TOKENMETER_EVENTHUBS_START_POSITION must be earliest or latest");
        }
        if (blank(checkpointContainerUrl) && (blank(checkpointConnectionString) || blank(checkpointContainer))) {
            throw new IllegalArgumentException("the eventhubs source needs TOKENMETER_CHECKPOINT_BLOB_CONTAINER_URL "
                    + "(https://<account>.blob.core.windows.net/<container>) or TOKENMETER_CHECKPOINT_CONNECTION_STRING "
                    + "with TOKENMETER_CHECKPOINT_CONTAINER");
        }
        if (maxBatchSize < 1 || maxWait.isNegative() || maxWait.isZero() || checkpointInterval.isNegative()) {
            throw new IllegalArgumentException("max batch size must be >= 1, max wait positive, checkpoint interval >= 0");
        }
    }

    public boolean usesConnectionString() {
        return !blank(connectionString);
    }

    public boolean checkpointsUseConnectionString() {
        return blank(checkpointContainerUrl);
    }

    /** For logs: names and URLs only, never a connection string. */
    public String describe() {
        return "event hub " + namespace + "/" + hubName + " (consumer group " + consumerGroup + ", "
                + (usesConnectionString() ? "connection string" : "Azure identity") + ", checkpoints in "
                + (checkpointsUseConnectionString() ? "container " + checkpointContainer + " (connection string)"
                : dev.tokenmeter.bridge.Redaction.url(checkpointContainerUrl)) + ")";
    }

    @Override
    public String toString() {
        return "EventHubsSettings[" + describe() + "]";
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }
}
