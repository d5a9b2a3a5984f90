package dev.tokenmeter.cli.deadletters;

import picocli.CommandLine.Command;

@Command(name = "deadletters", mixinStandardHelpOptions = true,
        description = {"Look into the bridge's dead letters and send them again once their cause is fixed.",
                "STORE is the bridge's dead-letter directory or its Blob container URL "
                        + "(https://<account>.blob.core.windows.net/<container>), spelled the same for every subcommand."},
        subcommands = {DeadLettersListCommand.class, DeadLettersSummaryCommand.class, DeadLettersExtractCommand.class,
                DeadLettersReplayCommand.class})
public final class DeadLettersCommand {
}
