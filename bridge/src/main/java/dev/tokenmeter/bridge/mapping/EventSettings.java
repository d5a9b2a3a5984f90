package dev.tokenmeter.bridge.mapping;

import dev.tokenmeter.usage.UsageRecord;

/**
 * CloudEvents attributes the operator chooses. A null {@code source} means {@code apim/<service name>}, so the
 * (source, id) pair OpenMeter de-duplicates on stays stable per APIM instance.
 */
public record EventSettings(String source, String type) {

    public static final String DEFAULT_TYPE = "tokens";

    public EventSettings {
        if (type == null || type.isBlank()) {
            type = DEFAULT_TYPE;
        }
        if (source != null && source.isBlank()) {
            source = null;
        }
    }

    public String sourceFor(UsageRecord record) {
        return source != null ? source : "apim/" + record.serviceName();
    }
}
