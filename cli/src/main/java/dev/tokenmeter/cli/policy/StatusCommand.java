package dev.tokenmeter.cli.policy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.ExitCode;
import dev.tokenmeter.cli.OutputFormat;
import dev.tokenmeter.cli.Table;
import dev.tokenmeter.cli.apim.ApimResource;
import dev.tokenmeter.cli.apim.ApimService;
import dev.tokenmeter.cli.apim.ArmOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Which version of the policy set runs on the service, per resource, and whether it matches the local set.")
final class StatusCommand implements Callable<Integer> {

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** Fragment descriptions start with "NAME VERSION:", as the manifest writes them. */
    private static final Pattern DESCRIBED_VERSION = Pattern.compile("^(\\S+) ([0-9][^:\\s]*):");

    @Mixin
    ArmOptions arm;
    @Mixin
    PolicySetOptions set;
    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table, json or csv.")
    OutputFormat output;

    private final Environment env;

    StatusCommand(Environment env) {
        this.env = env;
    }

    private record Row(String resource, String deployedVersion, String state) {
    }

    @Override
    public Integer call() throws Exception {
        DesiredSet desired = set.desired(env, arm.environmentFile(env));
        ApimService service = arm.connect(env);
        Plan plan = Plan.of(service, desired);
        String deployedVersion = null;
        List<Row> rows = new ArrayList<>();
        for (Plan.Change c : plan.changes()) {
            String version = "";
            if (c.current() != null && c.current().resource() instanceof ApimResource.NamedValue nv
                    && nv.id().equals(PolicySetOptions.VERSION_NAMED_VALUE)) {
                deployedVersion = nv.value();
                version = nv.value();
            } else if (c.current() != null && c.current().resource() instanceof ApimResource.Fragment f) {
                Matcher m = DESCRIBED_VERSION.matcher(f.description());
                version = m.find() ? m.group(2) : "unknown";
            }
            String state = switch (c.action()) {
                case CREATE -> "not deployed";
                case UPDATE -> "differs from local";
                case UNCHANGED -> "matches local";
            };
            rows.add(new Row(c.key().toString(), version, state));
        }
        plan.missingLoggers().forEach(l -> rows.add(new Row("logger " + l, "", "missing")));
        List<String> scopes = set.parseScopes(arm.environmentFile(env)).stream().map(Object::toString).toList();
        String scope = scopes.isEmpty() ? "(no --scope: policy document not checked)" : String.join(", ", scopes);
        if (output == OutputFormat.json) {
            ObjectNode root = MAPPER.createObjectNode();
            root.put("service", service.id());
            scopes.forEach(root.putArray("scopes")::add);
            root.put("deployedVersion", deployedVersion);
            root.put("localVersion", desired.version());
            root.put("matchesLocal", plan.inSync());
            ArrayNode resources = root.putArray("resources");
            rows.forEach(r -> resources.addObject().put("resource", r.resource()).put("deployedVersion", r.deployedVersion())
                    .put("state", r.state()));
            env.out().println(MAPPER.writeValueAsString(root));
        } else if (output == OutputFormat.csv) {
            Table table = new Table(List.of("resource", "deployed_version", "state"));
            rows.forEach(r -> table.row(List.of(r.resource(), r.deployedVersion(), r.state())));
            table.printCsv(env.out());
        } else {
            env.out().println("Service:          " + service.id());
            env.out().println("Scopes:           " + scope);
            env.out().println("Deployed version: " + (deployedVersion == null ? "none (policy set not deployed)"
                    : desired.name() + " " + deployedVersion));
            env.out().println("Local version:    " + desired.name() + " " + desired.version()
                    + (plan.inSync() ? " (matches)" : " (differs: see 'tokenmeter policy diff')"));
            env.out().println();
            Table table = new Table(List.of("RESOURCE", "VERSION", "STATE"));
            rows.forEach(r -> table.row(List.of(r.resource(), r.deployedVersion(), r.state())));
            table.print(env.out());
        }
        env.out().flush();
        return ExitCode.OK;
    }
}
