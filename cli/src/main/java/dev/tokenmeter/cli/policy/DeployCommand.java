package dev.tokenmeter.cli.policy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.ExitCode;
import dev.tokenmeter.cli.OutputFormat;
import dev.tokenmeter.cli.apim.ApimResource;
import dev.tokenmeter.cli.apim.ApimService;
import dev.tokenmeter.cli.apim.ArmOptions;
import dev.tokenmeter.cli.apim.ResourceKey;
import dev.tokenmeter.policies.validate.ExpressionCompilation;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "deploy", mixinStandardHelpOptions = true,
        description = {"Create or update the policy set on the service: named values, the Event Hub logger, fragments, then the policy at --scope.",
                "Updates are conditional on the ETag read (If-Match), so a change made meanwhile is never overwritten.",
                "What is replaced is saved first, for 'policy rollback'. A second run with nothing to change changes nothing."})
final class DeployCommand implements Callable<Integer> {

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Mixin
    ArmOptions arm;
    @Mixin
    PolicySetOptions set;
    @Mixin
    SnapshotsOption snapshotsOption;
    @Option(names = {"-y", "--yes"}, description = "Do not ask for confirmation at a terminal (without one nothing is asked).")
    boolean yes;
    @Option(names = "--dry-run", description = "Print the plan with a diff per resource (secrets masked) and change nothing; exit 3 when changes are pending.")
    boolean dryRun;
    @Option(names = "--allow-placeholders", description = "Deploy even when a named value would keep the manifest's placeholder (the nil tenant id, replace-with-...): for a test service only.")
    boolean allowPlaceholders;
    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json (the plan).")
    OutputFormat output;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    private final Environment env;

    DeployCommand(Environment env) {
        this.env = env;
    }

    @Override
    public Integer call() throws Exception {
        if (output == OutputFormat.csv) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "-o csv: policy deploy prints its progress (table) or the plan as json, not csv");
        }
        // which service first: a missing or malformed name is a usage error, whatever the set holds
        ApimService service = arm.connect(env);
        // what 'policy validate' rejects, APIM rejects too, halfway through a deployment: refuse before any request
        Path dir = set.directory(env);
        PolicyFileCheck.Checked checked = PolicyFileCheck.validate(dir, set.policyFile,
                ExpressionCompilation.fromEnvironment(env.variables()));
        checked.notes().forEach(n -> env.err().println("note: " + n));
        List<PolicyFileCheck.Located> findings = checked.findings();
        if (!findings.isEmpty()) {
            findings.forEach(l -> env.err().println(l.file() + ":" + l.finding().line()
                    + (l.finding().column() > 0 ? ":" + l.finding().column() : "") + ": [" + l.finding().ruleId()
                    + "] " + l.finding().message() + ". Fix: " + l.finding().fix()));
            throw new CliFailure("deploy refused: " + (set.policyFile == null ? "the policy set in " + dir
                    : "the policy set in " + dir + " with --policy " + set.policyFile) + " has " + findings.size()
                    + " problem(s), listed above; fix them ('tokenmeter policy validate " + dir + "') and deploy again");
        }
        DesiredSet desired = set.desired(env, arm.environmentFile(env));
        if (!desired.placeholders().isEmpty() && !allowPlaceholders) {
            throw new CliFailure("deploy refused: " + String.join(", ", desired.placeholders()) + " would get the "
                    + "manifest's placeholder, which breaks the gateway (a nil tenant id rejects every caller, a "
                    + "placeholder token fails every entitlement check): set "
                    + (desired.placeholders().size() == 1 ? "it" : "them") + " under namedValues in the --env file or "
                    + "with --set / --key-vault-secret, or pass --allow-placeholders for a test service");
        }
        Plan plan = Plan.of(service, desired);
        PrintWriter out = env.out();
        boolean ask = !dryRun && !yes && !plan.pending().isEmpty() && env.terminal().interactive();
        if (dryRun || ask || output == OutputFormat.json) {
            printPlan(plan, service, out);
        }
        if (!plan.missingLoggers().isEmpty()) {
            throw new CliFailure("logger " + String.join(", ", plan.missingLoggers()) + " does not exist on "
                    + service.id() + " and the policies write to it: pass --eventhub with --eventhub-namespace "
                    + "(managed identity) or --eventhub-connection-string-env so deploy creates it");
        }
        if (dryRun || plan.pending().isEmpty()) {
            if (output == OutputFormat.table) {
                out.println(plan.pending().isEmpty()
                        ? "Nothing to change: " + service.id() + " already runs policy set " + desired.name() + " " + desired.version() + "."
                        : "Dry run: nothing was changed; " + plan.pending().size()
                        + (plan.pending().size() == 1 ? " change" : " changes") + " pending.");
            }
            out.flush();
            return plan.pending().isEmpty() ? ExitCode.OK : ExitCode.DRIFT;
        }
        if (ask) {
            Confirmation.require(env, "Apply " + (plan.pending().size() == 1 ? "this change" : "these "
                    + plan.pending().size() + " changes") + " to " + service.id() + "?");
        }
        String previous = plan.changes().stream()
                .filter(c -> c.key().equals(new ResourceKey(ResourceKey.Kind.NAMED_VALUE, PolicySetOptions.VERSION_NAMED_VALUE)))
                .findFirst().map(c -> c.current() == null ? null
                        : ((ApimResource.NamedValue) c.current().resource()).value()).orElse(null);
        Snapshots snapshots = new Snapshots(snapshotsOption.open(env, arm.environmentFile(env)), service.id());
        Snapshots.Attempt attempt;
        try {
            attempt = snapshots.begin(env.clock().instant(), previous, desired.version(), plan.pending());
        } catch (CliFailure e) {
            throw new CliFailure(e.getMessage() + "; nothing was deployed", e);
        }
        String saved = attempt.where();
        int done = 0;
        for (Plan.Change c : plan.pending()) {
            ApimService.Deployed written;
            try {
                written = service.write(c.desired(), c.current() == null ? null : c.current().etag());
            } catch (RuntimeException e) {
                attempt.failed(e.getMessage());
                throw new CliFailure(e.getMessage() + " (" + done + " of " + plan.pending().size()
                        + " changes were applied before this; the attempt is recorded as failed in " + saved
                        + ": deploy again to finish it; 'tokenmeter policy rollback' undoes the last completed deployment)", e);
            }
            attempt.applied(c, written);
            done++;
            if (output == OutputFormat.table) {
                out.println((c.action() == Plan.Action.CREATE ? "created " : "updated ") + c.key());
                out.flush();
            }
        }
        attempt.completed();
        if (output == OutputFormat.table) {
            out.println("Deployed policy set " + desired.name() + " " + desired.version() + " to " + service.id()
                    + ": " + done + " changed, " + (plan.changes().size() - done) + " unchanged. Previous state saved for rollback in "
                    + saved + ".");
        }
        out.flush();
        return ExitCode.OK;
    }

    private void printPlan(Plan plan, ApimService service, PrintWriter out) throws Exception {
        if (output == OutputFormat.json) {
            ObjectNode root = MAPPER.createObjectNode();
            root.put("service", service.id());
            root.put("version", plan.set().version());
            root.put("dryRun", dryRun);
            ArrayNode changes = root.putArray("changes");
            for (Plan.Change c : plan.changes()) {
                ObjectNode change = changes.addObject().put("resource", c.key().toString()).put("action", c.action().name().toLowerCase());
                if (c.action() != Plan.Action.UNCHANGED) {
                    change.put("diff", c.diff());
                }
            }
            plan.missingLoggers().forEach(l -> changes.addObject().put("resource", "logger " + l).put("action", "missing"));
            out.println(MAPPER.writeValueAsString(root));
            return;
        }
        out.println("Plan for " + service.id() + " (policy set " + plan.set().name() + " " + plan.set().version() + "):");
        for (Plan.Change c : plan.changes()) {
            out.println(String.format("  %-9s %s", c.action().name().toLowerCase(), c.key()));
        }
        for (String l : plan.missingLoggers()) {
            out.println(String.format("  %-9s logger %s (not managed without --eventhub options)", "missing", l));
        }
        for (Plan.Change c : plan.pending()) {
            out.print(c.diff());
        }
        out.flush();
    }
}
