package dev.tokenmeter.cli;

import dev.tokenmeter.cli.deadletters.DeadLettersCommand;
import dev.tokenmeter.cli.limits.LimitsCommand;
import dev.tokenmeter.cli.openmeter.OpenMeterCommand;
import dev.tokenmeter.cli.openmeter.UsageCommand;
import dev.tokenmeter.cli.policy.PolicyCommand;
import dev.tokenmeter.cli.reconcile.ReconcileCommand;
import dev.tokenmeter.cli.replay.ReplayCommand;
import picocli.AutoComplete;
import picocli.CommandLine.Command;

@Command(name = "tokenmeter", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = {"Per-user metering and limits for Azure OpenAI behind Azure API Management.", ""},
        subcommands = {PolicyCommand.class, OpenMeterCommand.class, UsageCommand.class, ReconcileCommand.class, LimitsCommand.class, ReplayCommand.class, DeadLettersCommand.class, AutoComplete.GenerateCompletion.class},
        footerHeading = "%nExit codes:%n",
        footer = {"  0  success", "  1  failure (the message says what failed, where, and what to do)",
                "     also: deploy or rollback declined at the question, or a rollback",
                "     refused because a resource changed since the deployment (--force)",
                "  2  usage error (one line; see the command's --help)",
                "  3  differences: drift found (policy diff, openmeter meters apply),",
                "     or changes pending (policy deploy/rollback --dry-run)",
                "  4  billing gap found (reconcile)",
                "", "Environment (flags win):",
                "  AZURE_SUBSCRIPTION_ID, TOKENMETER_RESOURCE_GROUP, TOKENMETER_APIM_SERVICE",
                "  AZURE_RESOURCE_MANAGER_ENDPOINT, AZURE_RESOURCE_MANAGER_AUDIENCE,",
                "  TOKENMETER_POLICY_DIR,",
                "  TOKENMETER_SNAPSHOTS (rollback snapshots: a folder or a Blob container",
                "  URL; TOKENMETER_STATE_DIR too), TOKENMETER_SNAPSHOTS_SAS (a SAS for that",
                "  container, never printed; else DefaultAzureCredential)",
                "  TOKENMETER_ENV, TOKENMETER_ENVIRONMENTS_DIR (--env NAME: environments/NAME.yaml wins over variables)",
                "  TOKENMETER_OPENMETER_URL, TOKENMETER_OPENMETER_TOKEN",
                "  TOKENMETER_OPENAI_ACCOUNT, TOKENMETER_LOG_ANALYTICS_WORKSPACE (reconcile)",
                "  TOKENMETER_DEAD_LETTER_BLOB_CONTAINER_URL, TOKENMETER_DEAD_LETTER_DIR,",
                "  TOKENMETER_DEAD_LETTER_CONNECTION_STRING (deadletters)",
                "  Azure sign-in: DefaultAzureCredential (az login, AZURE_CLIENT_ID, managed identity);",
                "  AZURE_TOKEN_CREDENTIALS=dev skips managed identity on a workstation",
                "Deploy and rollback ask before they change anything when stdin and stdout",
                "are a terminal (--yes skips it); without a terminal (scripts, CI) they do not."})
public final class TokenmeterCommand {
}
