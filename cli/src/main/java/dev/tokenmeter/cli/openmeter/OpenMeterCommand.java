package dev.tokenmeter.cli.openmeter;

import picocli.CommandLine.Command;

@Command(name = "openmeter", mixinStandardHelpOptions = true, description = "Set up OpenMeter for the bridge's events.",
        subcommands = OpenMeterCommand.Meters.class)
public final class OpenMeterCommand {

    @Command(name = "meters", mixinStandardHelpOptions = true, description = "The meters that sum the bridge's token counts.",
            subcommands = MetersApplyCommand.class)
    static final class Meters {
    }
}
