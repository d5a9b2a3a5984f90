package dev.tokenmeter.cli.limits;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.ExitCode;
import dev.tokenmeter.cli.OutputFormat;
import dev.tokenmeter.cli.Table;
import dev.tokenmeter.cli.openmeter.OpenMeterOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "show", mixinStandardHelpOptions = true,
        description = "A user's allowance, usage and balance in the current period, and whether access is allowed.")
final class LimitsShowCommand implements Callable<Integer> {

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Mixin
    OpenMeterOptions openmeter;
    @Mixin
    LimitOptions limit;
    @Option(names = "--user", required = true, description = "The user.")
    String user;
    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json.")
    OutputFormat output;

    private final Environment env;

    LimitsShowCommand(Environment env) {
        this.env = env;
    }

    @Override
    public Integer call() throws Exception {
        Entitlements om = new Entitlements(openmeter.connect(env));
        Entitlements.Limit l = om.limit(user, limit.feature).orElseThrow(() -> new CliFailure("user " + user
                + " has no allowance on " + limit.feature + ": set one with 'tokenmeter limits set --user " + user
                + " --tokens N --period month'"));
        JsonNode v = om.value(user, limit.feature);
        if (output == OutputFormat.json) {
            ObjectNode o = MAPPER.createObjectNode().put("user", user).put("feature", l.feature()).put("tokens", l.tokens())
                    .put("period", l.period()).put("soft", l.soft()).put("periodEnd", l.periodEnd())
                    .put("hasAccess", v.path("hasAccess").asBoolean());
            for (String f : List.of("usage", "balance", "overage")) {
                if (v.has(f)) {
                    o.put(f, v.get(f).asDouble());
                }
            }
            env.out().println(MAPPER.writeValueAsString(o));
        } else {
            Table t = new Table(List.of("USER", "FEATURE", "ALLOWANCE", "PERIOD", "USAGE", "BALANCE", "OVERAGE", "ACCESS", "PERIOD ENDS"));
            t.row(List.of(user, l.feature(), n(l.tokens()) + (l.soft() ? " (soft)" : ""), l.period().toLowerCase(),
                    n(v.path("usage").asDouble()), n(v.path("balance").asDouble()), n(v.path("overage").asDouble()),
                    v.path("hasAccess").asBoolean() ? "allowed" : "denied", l.periodEnd()));
            t.print(env.out());
        }
        env.out().flush();
        return ExitCode.OK;
    }

    static String n(double v) {
        return String.format("%,d", Math.round(v));
    }
}
