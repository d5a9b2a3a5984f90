package dev.tokenmeter.cli.deadletters;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.bridge.deadletter.DeadLetterArchive;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.ExitCode;
import dev.tokenmeter.cli.OutputFormat;
import dev.tokenmeter.cli.Table;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

@Command(name = "summary", mixinStandardHelpOptions = true,
        description = "How many dead letters there are, by reason and by UTC day.")
final class DeadLettersSummaryCommand implements Callable<Integer> {

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Spec
    CommandSpec spec;
    @Mixin
    StoreOptions store;
    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table, csv or json.")
    OutputFormat output;

    private final Environment env;

    DeadLettersSummaryCommand(Environment env) {
        this.env = env;
    }

    @Override
    public Integer call() throws Exception {
        StoreOptions.Read read = store.read(env, spec.commandLine());
        Map<String, Long> byReason = new TreeMap<>();
        Map<String, Map<String, Long>> byDay = new TreeMap<>();
        for (DeadLetterArchive.Stored s : read.letters()) {
            String reason = s.letter().reason().label();
            String day = s.letter().at().atZone(ZoneOffset.UTC).toLocalDate().toString();
            byReason.merge(reason, 1L, Long::sum);
            byDay.computeIfAbsent(day, d -> new TreeMap<>()).merge(reason, 1L, Long::sum);
        }
        if (output == OutputFormat.json) {
            ObjectNode root = MAPPER.createObjectNode();
            root.put("store", read.store());
            root.put("total", read.letters().size());
            ObjectNode reasons = root.putObject("by_reason");
            byReason.forEach(reasons::put);
            ArrayNode days = root.putArray("by_day");
            byDay.forEach((day, counts) -> counts.forEach((reason, n) ->
                    days.addObject().put("day", day).put("reason", reason).put("letters", n)));
            env.out().println(MAPPER.writeValueAsString(root));
        } else {
            Table table = new Table(List.of("DAY", "REASON", "LETTERS"));
            byDay.forEach((day, counts) -> counts.forEach((reason, n) -> table.row(List.of(day, reason, Long.toString(n)))));
            byReason.forEach((reason, n) -> table.row(List.of("all days", reason, Long.toString(n))));
            table.row(List.of("all days", "all reasons", Integer.toString(read.letters().size())));
            if (output == OutputFormat.csv) {
                table.printCsv(env.out());
            } else {
                table.print(env.out());
            }
        }
        env.out().flush();
        return read.unreadable() > 0 ? ExitCode.FAILURE : ExitCode.OK;
    }
}
