package dev.tokenmeter.cli.reconcile;

import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.ExitCode;
import dev.tokenmeter.cli.OutputFormat;
import dev.tokenmeter.cli.envfile.EnvironmentFile;
import dev.tokenmeter.cli.openmeter.MappingOptions;
import dev.tokenmeter.cli.openmeter.OpenMeterOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.math.BigDecimal;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.regex.Pattern;

@Command(name = "reconcile", mixinStandardHelpOptions = true,
        description = {"Proves the bill: per model deployment and UTC hour, the tokens (prompt plus",
                "completion) Azure OpenAI processed (platform metrics ProcessedPromptTokens and",
                "GeneratedTokens), the tokens the gateway saw (the policies' token metrics in",
                "Application Insights, table AppMetrics) and the tokens OpenMeter billed, exact",
                "and estimated. COVERAGE is billed / Azure, MISSING is Azure - billed. An hour",
                "further from Azure's count than --tolerance is flagged (gap: less billed;",
                "over: more billed) and the exit code is 4.",
                "Roles: Monitoring Reader on the Azure OpenAI account, Log Analytics Reader on",
                "the workspace."},
        footerHeading = "%nExit codes:%n",
        footer = {"  0  every settled hour within the tolerance", "  1  failure (a source could not be read)",
                "  2  usage error", "  4  an hour beyond the tolerance (for a scheduled job or an alert)", "",
                "Environment (flags win; in an --env file: monitoring.*):",
                "  TOKENMETER_OPENAI_ACCOUNT, TOKENMETER_LOG_ANALYTICS_WORKSPACE,",
                "  TOKENMETER_LOG_ANALYTICS_ENDPOINT, AZURE_RESOURCE_MANAGER_ENDPOINT,",
                "  TOKENMETER_OPENMETER_URL, TOKENMETER_OPENMETER_TOKEN"})
public final class ReconcileCommand implements Callable<Integer> {

    static final String DEFAULT_LOGS_ENDPOINT = "https://api.loganalytics.io";
    static final String DEFAULT_ARM_ENDPOINT = "https://management.azure.com";
    private static final Pattern ACCOUNT_ID = Pattern.compile(
            "^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.CognitiveServices/accounts/[^/]+$",
            Pattern.CASE_INSENSITIVE);

    @Spec
    CommandSpec spec;
    @Mixin
    OpenMeterOptions openmeter;
    @Mixin
    MappingOptions mapping;
    @Option(names = "--from", required = true, description = "Start, inclusive, on the hour: an instant (2026-11-01T00:00:00Z) or a UTC date.")
    String from;
    @Option(names = "--to", required = true, description = "End, exclusive, on the hour: an instant or a UTC date.")
    String to;
    @Option(names = "--openai-account", paramLabel = "RESOURCE_ID", description = "Resource id of the Azure OpenAI (Cognitive Services) account (env TOKENMETER_OPENAI_ACCOUNT).")
    String account;
    @Option(names = "--workspace-id", paramLabel = "GUID", description = "Workspace id of the Log Analytics workspace behind Application Insights (env TOKENMETER_LOG_ANALYTICS_WORKSPACE).")
    String workspace;
    @Option(names = "--arm-endpoint", paramLabel = "URL", description = "Azure Resource Manager endpoint, where the Metrics API is (env AZURE_RESOURCE_MANAGER_ENDPOINT; default " + DEFAULT_ARM_ENDPOINT + ").")
    String armEndpoint;
    @Option(names = "--logs-endpoint", paramLabel = "URL", description = "Log Analytics query endpoint (env TOKENMETER_LOG_ANALYTICS_ENDPOINT; default " + DEFAULT_LOGS_ENDPOINT + ").")
    String logsEndpoint;
    @Option(names = "--tolerance", paramLabel = "PERCENT", defaultValue = "1", description = "How far an hour's bill may be from Azure's count, in percent of it (default: ${DEFAULT-VALUE}).")
    BigDecimal tolerance;
    @Option(names = "--settle", paramLabel = "DURATION", defaultValue = "PT1H", description = "Hours that ended less than this long ago are shown as recent and not judged: metrics, logs and the bridge's join of streamed usage arrive late (default: ${DEFAULT-VALUE}).")
    Duration settle;
    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table, csv or json.")
    OutputFormat output;

    private final Environment env;

    ReconcileCommand(Environment env) {
        this.env = env;
    }

    @Override
    public Integer call() {
        Instant start = hour("--from", from);
        Instant end = hour("--to", to);
        if (!end.isAfter(start)) {
            throw new ParameterException(spec.commandLine(), "--to " + to + " must be after --from " + from);
        }
        if (tolerance.signum() < 0 || settle.isNegative()) {
            throw new ParameterException(spec.commandLine(), "--tolerance and --settle cannot be negative");
        }
        Optional<EnvironmentFile> file = openmeter.environmentFile(env);
        Optional<EnvironmentFile.Monitoring> monitoring = file.map(EnvironmentFile::monitoring);
        String accountId = setting("--openai-account", account, monitoring.map(EnvironmentFile.Monitoring::openaiAccount),
                "TOKENMETER_OPENAI_ACCOUNT", "monitoring.openaiAccount").replaceAll("/+$", "");
        if (!ACCOUNT_ID.matcher(accountId).matches()) {
            throw new ParameterException(spec.commandLine(), "--openai-account " + accountId + ": give the account's resource id, "
                    + "/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.CognitiveServices/accounts/NAME");
        }
        String workspaceId = setting("--workspace-id", workspace, monitoring.map(EnvironmentFile.Monitoring::workspaceId),
                "TOKENMETER_LOG_ANALYTICS_WORKSPACE", "monitoring.workspaceId");
        URI arm = endpoint("--arm-endpoint", Optional.ofNullable(armEndpoint).or(() -> file.map(EnvironmentFile::armEndpoint))
                .or(() -> env.variable("AZURE_RESOURCE_MANAGER_ENDPOINT")).orElse(DEFAULT_ARM_ENDPOINT));
        URI logs = endpoint("--logs-endpoint", Optional.ofNullable(logsEndpoint)
                .or(() -> monitoring.map(EnvironmentFile.Monitoring::logsEndpoint))
                .or(() -> env.variable("TOKENMETER_LOG_ANALYTICS_ENDPOINT")).orElse(DEFAULT_LOGS_ENDPOINT));

        BilledUsage billed = new BilledUsage(openmeter.connect(env), mapping.mode(), mapping.prefix());
        var credential = env.credential().get();
        PlatformMetrics azure = new PlatformMetrics(new MonitorClient(arm, "--arm-endpoint", audience(arm), credential,
                "Azure Monitor Metrics API", "'Monitoring Reader' on the Azure OpenAI account (or its resource group)",
                "--openai-account (the account's resource id)"), accountId);
        GatewayMetrics gateway = new GatewayMetrics(new MonitorClient(logs, "--logs-endpoint", audience(logs), credential,
                "Log Analytics query API", "'Log Analytics Reader' on the workspace",
                "--workspace-id (the workspace id, a GUID, not its resource id)"), workspaceId);

        Counts counts = new Counts(azure.read(start, end), gateway.read(start, end), billed.read(start, end), billed.split());
        Instant settledBefore = env.clock().instant().minus(settle);
        Reconciliation.Result result = Reconciliation.compare(counts, tolerance, settledBefore);
        new ReconcileReport(start, end, accountId, workspaceId, result).print(output, env.out(), env.err());
        return result.beyondTolerance() ? ExitCode.BILLING_GAP : ExitCode.OK;
    }

    /** Both APIs take a token for their own endpoint's audience (management.azure.com, api.loganalytics.io). */
    private static String audience(URI endpoint) {
        return endpoint.getScheme() + "://" + endpoint.getRawAuthority() + "/.default";
    }

    private String setting(String option, String flag, Optional<String> fromFile, String variable, String key) {
        return Optional.ofNullable(flag).filter(v -> !v.isBlank()).or(() -> fromFile.filter(v -> !v.isBlank()))
                .or(() -> env.variable(variable)).orElseThrow(() -> new ParameterException(spec.commandLine(),
                        "Missing " + option + " (or environment variable " + variable + ", or " + key + " in the --env file)"));
    }

    private URI endpoint(String option, String text) {
        try {
            URI uri = new URI(text.strip());
            if (uri.getHost() != null && ("https".equals(uri.getScheme()) || "http".equals(uri.getScheme()))) {
                return uri;
            }
        } catch (URISyntaxException e) {
            // reported below
        }
        throw new ParameterException(spec.commandLine(), "Invalid " + option + " '" + text + "': give an absolute https URL");
    }

    private Instant hour(String option, String text) {
        Function<String, Instant> parse = t -> t.length() == 10 ? LocalDate.parse(t).atStartOfDay(ZoneOffset.UTC).toInstant()
                : Instant.parse(t);
        Instant at;
        try {
            at = parse.apply(text);
        } catch (DateTimeParseException e) {
            throw new ParameterException(spec.commandLine(),
                    option + " " + text + ": use an instant like 2026-11-01T00:00:00Z or a date like 2026-11-01");
        }
        if (!at.truncatedTo(ChronoUnit.HOURS).equals(at)) {
            throw new ParameterException(spec.commandLine(), option + " " + text
                    + ": reconcile compares whole UTC hours; give a time on the hour");
        }
        return at;
    }
}
