package dev.tokenmeter.cli.limits;

import picocli.CommandLine.Command;

@Command(name = "limits", mixinStandardHelpOptions = true,
        description = {"Per-user token allowances as OpenMeter metered entitlements, which the gateway's entitlement check enforces.",
                "Each user is an OpenMeter customer whose usage attribution is the user id the bridge sends as subject."},
        subcommands = {LimitsSetCommand.class, LimitsShowCommand.class, LimitsListCommand.class})
public final class LimitsCommand {
}
