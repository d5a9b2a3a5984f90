package dev.tokenmeter.cli.limits;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
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

@Command(name = "list", mixinStandardHelpOptions = true, description = "Every user's token allowance on the feature.")
final class LimitsListCommand implements Callable<Integer> {

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Mixin
    OpenMeterOptions openmeter;
    @Mixin
    LimitOptions limit;
    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table, csv or json.")
    OutputFormat output;

    private final Environment env;

    LimitsListCommand(Environment env) {
        this.env = env;
    }

    @Override
    public Integer call() throws Exception {
        List<Entitlements.Limit> limits = new Entitlements(openmeter.connect(env)).all(limit.feature);
        if (output == OutputFormat.json) {
            ArrayNode arr = MAPPER.createArrayNode();
            limits.forEach(l -> arr.addObject().put("user", l.customer()).put("feature", l.feature()).put("tokens", l.tokens())
                    .put("period", l.period()).put("soft", l.soft()).put("periodEnd", l.periodEnd()));
            env.out().println(MAPPER.writeValueAsString(arr));
        } else {
            Table t = new Table(List.of("USER", "ALLOWANCE", "PERIOD", "LIMIT", "PERIOD ENDS"));
            limits.forEach(l -> t.row(List.of(l.customer(), LimitsShowCommand.n(l.tokens()), l.period().toLowerCase(),
                    l.soft() ? "soft" : "hard", l.periodEnd())));
            if (output == OutputFormat.csv) {
                t.printCsv(env.out());
            } else if (limits.isEmpty()) {
                env.out().println("No token allowances on " + limit.feature + ".");
            } else {
                t.print(env.out());
            }
        }
        env.out().flush();
        return ExitCode.OK;
    }
}
