package dev.tokenmeter.cli.deadletters;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.ExitCode;
import dev.tokenmeter.cli.OutputFormat;
import dev.tokenmeter.cli.Table;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "list", mixinStandardHelpOptions = true,
        description = "One line per dead letter, oldest first: when, why, which request and user, where in the source.")
final class DeadLettersListCommand implements Callable<Integer> {

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Spec
    CommandSpec spec;
    @Mixin
    StoreOptions store;
    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table, csv or json.")
    OutputFormat output;

    private final Environment env;

    DeadLettersListCommand(Environment env) {
        this.env = env;
    }

    @Override
    public Integer call() throws Exception {
        StoreOptions.Read read = store.read(env, spec.commandLine());
        List<LetterView> letters = read.letters().stream().map(LetterView::of).toList();
        if (output == OutputFormat.json) {
            ArrayNode array = MAPPER.createArrayNode();
            letters.forEach(l -> array.addObject().put("at", l.at()).put("reason", l.reason())
                    .put("request_id", l.requestId()).put("user", l.user()).put("partition", l.partition())
                    .put("position", l.position()).put("detail", l.detail()).put("location", l.location()));
            env.out().println(MAPPER.writeValueAsString(array));
        } else {
            Table table = new Table(List.of("TIME", "REASON", "REQUEST ID", "USER", "PARTITION", "POSITION", "DETAIL"));
            letters.forEach(l -> table.row(List.of(l.at(), l.reason(), LetterView.orDash(l.requestId()),
                    LetterView.orDash(l.user()), LetterView.orDash(l.partition()), LetterView.orDash(l.position()),
                    LetterView.orDash(l.detail()))));
            if (output == OutputFormat.csv) {
                table.printCsv(env.out());
            } else if (letters.isEmpty()) {
                env.out().println("No dead letters in " + read.store() + " match.");
            } else {
                table.print(env.out());
            }
        }
        env.out().flush();
        return read.unreadable() > 0 ? ExitCode.FAILURE : ExitCode.OK;
    }
}
