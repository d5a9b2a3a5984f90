package dev.tokenmeter.bridge.source.eventhubs;

import java.net.URI;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The parts of an Event Hubs connection string the bridge needs: the fully qualified namespace (to derive the
 * Kafka endpoint and to check it against the configured one) and the optional {@code EntityPath} (the hub).
 * The string itself is a secret: {@link #toString()} never shows the key.
 */
public record EventHubsConnectionString(String raw, String fullyQualifiedNamespace, String entityPath) {

    public static EventHubsConnectionString parse(String raw) {
        if (raw == null || raw.isBlank()) {
            throw new IllegalArgumentException("the Event Hubs connection string is empty");
        }
        Map<String, String> parts = new HashMap<>();
        for (String part : raw.trim().split(";")) {
            int eq = part.indexOf('=');
            if (eq > 0) {
                parts.put(part.substring(0, eq).trim().toLowerCase(Locale.ROOT), part.substring(eq + 1).trim());
            }
        }
        String endpoint = parts.get("endpoint");
        if (endpoint == null || !parts.containsKey("sharedaccesskeyname") && !parts.containsKey("sharedaccesssignature")) {
            // the message names the expected shape, never the value: it may hold a key
            throw new IllegalArgumentException("not an Event Hubs connection string: expected "
                    + "Endpoint=sb://<namespace>.servicebus.windows.net/;SharedAccessKeyName=...;SharedAccessKey=...");
        }
        String host;
        try {
            host = URI.create(endpoint).getHost();
        } catch (IllegalArgumentException e) {
            host = null;
        }
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("the connection string's Endpoint is not a URI like sb://<namespace>.servicebus.windows.net/");
        }
        String entity = parts.get("entitypath");
        return new EventHubsConnectionString(raw.trim(), host.toLowerCase(Locale.ROOT),
                entity == null || entity.isBlank() ? null : entity);
    }

    @Override
    public String toString() {
        return "EventHubsConnectionString[namespace=" + fullyQualifiedNamespace + ", entityPath=" + entityPath + ", key=***]";
    }
}
