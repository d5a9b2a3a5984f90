package dev.tokenmeter.cli.limits;

import dev.tokenmeter.bridge.mapping.MappingMode;
import dev.tokenmeter.cli.openmeter.MappingOptions;
import dev.tokenmeter.cli.openmeter.MeterDefinitions;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Which OpenMeter feature carries the token allowance, and the meter it counts. */
public final class LimitOptions {

    @Option(names = "--feature", defaultValue = "tokenmeter_tokens", description = "OpenMeter feature key of the token allowance (default: ${DEFAULT-VALUE}).")
    String feature;

    @Mixin
    MappingOptions mapping;

    /** All tokens, whichever event mapping the bridge uses: total_tokens per request, or every token type. */
    String meterSlug() {
        return mapping.mode() == MappingMode.PER_TOKEN_TYPE ? MeterDefinitions.slugFor(mapping.prefix(), "tokens")
                : MeterDefinitions.slugFor(mapping.prefix(), "total_tokens");
    }
}
