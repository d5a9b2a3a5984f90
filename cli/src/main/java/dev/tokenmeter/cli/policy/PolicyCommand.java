package dev.tokenmeter.cli.policy;

import picocli.CommandLine.Command;

@Command(name = "policy", mixinStandardHelpOptions = true,
        description = "The token-metering policy set: validate, test and render it offline; diff, deploy, status, rollback and pull on an API Management service.",
        subcommands = {ValidateCommand.class, TestCommand.class, RenderCommand.class, DiffCommand.class, DeployCommand.class, StatusCommand.class, RollbackCommand.class, PullCommand.class})
public final class PolicyCommand {
}
