package dev.tokenmeter.cli.policy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.ExitCode;
import dev.tokenmeter.cli.OutputFormat;
import dev.tokenmeter.cli.apim.ApimService;
import dev.tokenmeter.cli.apim.ArmOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

@Command(name = "diff", mixinStandardHelpOptions = true,
        description = {"Compare the local policy set with what the service runs: fragments, the policy at --scope, named values, logger.",
                "Prints a unified diff per resource that differs. Exit code 3 when anything differs (drift), 0 when in sync."})
final class DiffCommand implements Callable<Integer> {

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Mixin
    ArmOptions arm;
    @Mixin
    PolicySetOptions set;
    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table (unified diffs) or json.")
    OutputFormat output;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    private final Environment env;

    DiffCommand(Environment env) {
        this.env = env;
    }

    private static String envName(java.nio.file.Path file) {
        String n = file.getFileName().toString();
        return n.replaceAll("\\.ya?ml$", "");
    }

    @Override
    public Integer call() throws Exception {
        if (output == OutputFormat.csv) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "-o csv: policy diff prints unified diffs (table) or json, not csv");
        }
        DesiredSet desired = set.desired(env, arm.environmentFile(env));
        ApimService service = arm.connect(env);
        Plan plan = Plan.of(service, desired);
        PrintWriter out = env.out();
        if (output == OutputFormat.json) {
            ObjectNode root = MAPPER.createObjectNode();
            root.put("service", service.id());
            root.put("localVersion", desired.version());
            root.put("inSync", plan.inSync());
            ArrayNode resources = root.putArray("resources");
            for (Plan.Change c : plan.changes()) {
                ObjectNode r = resources.addObject().put("resource", c.key().toString())
                        .put("state", switch (c.action()) {
                            case CREATE -> "missing";
                            case UPDATE -> "differs";
                            case UNCHANGED -> "same";
                        });
                if (c.action() != Plan.Action.UNCHANGED) {
                    r.put("diff", c.diff());
                }
            }
            plan.missingLoggers().forEach(l -> resources.addObject().put("resource", "logger " + l).put("state", "missing"));
            out.println(MAPPER.writeValueAsString(root));
        } else {
            for (Plan.Change c : plan.pending()) {
                out.print(c.diff());
            }
            for (String l : plan.missingLoggers()) {
                out.println("logger " + l + " is missing on the service: deploy with --eventhub and --eventhub-namespace"
                        + " (or --eventhub-connection-string-env) to create it");
            }
            long same = plan.changes().size() - plan.pending().size();
            out.println(plan.inSync()
                    ? "No drift: " + service.id() + " runs local policy set " + desired.name() + " " + desired.version()
                    + " (" + same + " resources compared)."
                    : "Drift: " + (plan.pending().size() + plan.missingLoggers().size()) + " of "
                    + (plan.changes().size() + plan.missingLoggers().size()) + " resources differ from local policy set "
                    + desired.name() + " " + desired.version() + ". Run 'tokenmeter policy deploy"
                    + arm.environmentFile(env).map(f -> " --env " + envName(f.file())).orElse("")
                    + "' to apply the local set.");
        }
        out.flush();
        return plan.inSync() ? ExitCode.OK : ExitCode.DRIFT;
    }
}
