package dev.tokenmeter.cli.openmeter;

import dev.tokenmeter.bridge.mapping.EventSettings;
import dev.tokenmeter.bridge.mapping.MappingMode;
import picocli.CommandLine.Option;

/** Which of the bridge's event shapes the meters are for; must match the bridge's settings. */
public final class MappingOptions {

    @Option(names = "--mapping", paramLabel = "MODE", defaultValue = "request", converter = ModeConverter.class,
            description = "The bridge's event mapping: request (one event per request with every count) or per-token-type (default: ${DEFAULT-VALUE}).")
    MappingMode mode;

    @Option(names = "--event-type", defaultValue = EventSettings.DEFAULT_TYPE, description = "CloudEvents type the bridge sends (default: ${DEFAULT-VALUE}).")
    String eventType;

    @Option(names = "--slug-prefix", defaultValue = "tokenmeter", description = "Prefix of the meter slugs (default: ${DEFAULT-VALUE}).")
    String prefix;

    public MappingMode mode() {
        return mode;
    }

    public String eventType() {
        return eventType;
    }

    public String prefix() {
        return prefix;
    }

    public static final class ModeConverter implements picocli.CommandLine.ITypeConverter<MappingMode> {
        @Override
        public MappingMode convert(String value) {
            return MappingMode.parse(value);
        }
    }
}
