package dev.tokenmeter.cli.openmeter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.ExitCode;
import dev.tokenmeter.cli.OutputFormat;
import dev.tokenmeter.cli.Table;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "apply", mixinStandardHelpOptions = true,
        description = {"Create the meters the bridge's events need (sums of each token count by model, deployment, API, product,",
                "subscription and usage source; by model, deployment and type for per-token-type); idempotent.",
                "Name, description and grouping of an existing meter are updated in place.",
                "A meter that exists with another event type, aggregation or value property cannot be changed in place:",
                "it is reported and the exit code is 3."})
final class MetersApplyCommand implements Callable<Integer> {

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Mixin
    OpenMeterOptions openmeter;
    @Mixin
    MappingOptions mapping;
    @Option(names = "--dry-run", description = "Print what would be done and change nothing.")
    boolean dryRun;
    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table, json or csv.")
    OutputFormat output;

    private final Environment env;

    MetersApplyCommand(Environment env) {
        this.env = env;
    }

    private record Outcome(String slug, String action, String detail) {
    }

    @Override
    public Integer call() throws Exception {
        OpenMeterClient client = openmeter.connect(env);
        Map<String, JsonNode> existing = new HashMap<>();
        for (JsonNode m : client.get("/api/v1/meters", List.of())) {
            existing.put(m.path("slug").asText(), m);
        }
        List<Outcome> outcomes = new ArrayList<>();
        boolean conflict = false;
        for (MeterDefinitions.Meter meter : MeterDefinitions.forMapping(mapping.mode(), mapping.prefix(), mapping.eventType())) {
            JsonNode current = existing.get(meter.slug());
            String detail = "SUM " + meter.valueProperty() + " of '" + meter.eventType() + "' by "
                    + String.join(", ", new java.util.TreeSet<>(meter.groupBy().keySet()));
            if (current == null) {
                if (!dryRun) {
                    client.post("/api/v1/meters", meter.toCreate());
                }
                outcomes.add(new Outcome(meter.slug(), "created", detail));
            } else if (!meter.sameIdentity(current)) {
                conflict = true;
                outcomes.add(new Outcome(meter.slug(), "conflict", "exists as " + current.path("aggregation").asText()
                        + " " + current.path("valueProperty").asText("") + " of '" + current.path("eventType").asText()
                        + "': delete it in OpenMeter or choose another --slug-prefix"));
            } else if (!meter.sameDetails(current)) {
                if (!dryRun) {
                    client.put("/api/v1/meters/" + current.path("id").asText(meter.slug()), meter.toUpdate());
                }
                outcomes.add(new Outcome(meter.slug(), "updated", detail));
            } else {
                outcomes.add(new Outcome(meter.slug(), "unchanged", detail));
            }
        }
        if (output == OutputFormat.json) {
            ArrayNode arr = MAPPER.createArrayNode();
            outcomes.forEach(o -> arr.addObject().put("slug", o.slug()).put("action", o.action()).put("detail", o.detail()));
            env.out().println(MAPPER.writeValueAsString(arr));
        } else if (output == OutputFormat.csv) {
            Table t = new Table(List.of("meter", dryRun ? "would_be" : "result", "definition"));
            outcomes.forEach(o -> t.row(List.of(o.slug(), o.action(), o.detail())));
            t.printCsv(env.out());
        } else {
            Table t = new Table(List.of("METER", dryRun ? "WOULD BE" : "RESULT", "DEFINITION"));
            outcomes.forEach(o -> t.row(List.of(o.slug(), o.action(), o.detail())));
            t.print(env.out());
            long changed = outcomes.stream().filter(o -> o.action().equals("created") || o.action().equals("updated")).count();
            env.out().println((dryRun ? "Dry run: " : "") + outcomes.size() + " meters for the " + mapping.mode()
                    + " mapping at " + client.base() + ": " + (changed == 0 ? "nothing to change" : changed + (dryRun ? " to change" : " changed"))
                    + (conflict ? "; conflicts need attention" : "") + ".");
        }
        env.out().flush();
        return conflict ? ExitCode.DRIFT : ExitCode.OK;
    }
}
