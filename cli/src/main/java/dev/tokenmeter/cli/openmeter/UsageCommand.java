package dev.tokenmeter.cli.openmeter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.bridge.mapping.MappingMode;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.ExitCode;
import dev.tokenmeter.cli.OutputFormat;
import dev.tokenmeter.cli.Table;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;

@Command(name = "usage", mixinStandardHelpOptions = true,
        description = {"Token usage from OpenMeter's meters per window and group, with an optional",
                "cost column: one user's (--user) or everyone's, by user, model, deployment,",
                "API, product or subscription (team chargeback), --top N per window.",
                "INPUT includes CACHED input tokens; OUTPUT includes REASONING tokens; COST",
                "prices uncached input, cached input and output per model, so a group of",
                "several models is priced model by model."})
public final class UsageCommand implements Callable<Integer> {

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** What --group-by takes; user is OpenMeter's subject, the rest are the meters' groups. */
    private static final List<String> GROUPS = List.of("user", "model", "deployment", "api", "product", "subscription");
    /** The groups the per-token-type events carry (besides type). */
    private static final List<String> PER_TOKEN_TYPE_GROUPS = List.of("user", "model", "deployment");

    /** Windows OpenMeter aggregates over. */
    public enum Window {
        MINUTE, HOUR, DAY, MONTH
    }

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;
    @Mixin
    OpenMeterOptions openmeter;
    @Mixin
    MappingOptions mapping;
    @Option(names = "--user", description = "Only this user (OpenMeter subject); default: every user.")
    String user;
    @Option(names = "--from", description = "Start, inclusive: an instant (2026-11-01T00:00:00Z) or a UTC date (2026-11-01).")
    String from;
    @Option(names = "--to", description = "End, exclusive: an instant or a UTC date.")
    String to;
    @Option(names = "--window", description = "minute, hour, day or month, any case (default: one total for the whole period).")
    Window window;
    @Option(names = "--group-by", split = ",", defaultValue = "model", description = "One or more of user, model, deployment, api, product, subscription (default: ${DEFAULT-VALUE}).")
    List<String> groupBy;
    @Option(names = "--top", paramLabel = "N", description = "Only the N groups with the most tokens in each window, largest first.")
    Integer top;
    @Option(names = "--pricing", paramLabel = "FILE", description = "Prices per million input, cached input and output tokens per model (see samples/pricing.json); adds a COST column.")
    Path pricingFile;
    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table, csv or json.")
    OutputFormat output;

    private final Environment env;

    UsageCommand(Environment env) {
        this.env = env;
    }

    /** Token counts of one window and group, and their cost when priced. */
    private static final class Counts {
        double input;
        double cached;
        double output;
        double reasoning;
        double total;
        BigDecimal cost = BigDecimal.ZERO;
        boolean unpriced;

        void add(Counts o) {
            input += o.input;
            cached += o.cached;
            output += o.output;
            reasoning += o.reasoning;
            total += o.total;
        }
    }

    private record Key(String windowStart, String windowEnd, List<String> groups) implements Comparable<Key> {
        @Override
        public int compareTo(Key o) {
            int c = windowStart.compareTo(o.windowStart);
            return c != 0 ? c : String.join("\u0000", groups).compareTo(String.join("\u0000", o.groups));
        }
    }

    @Override
    public Integer call() throws Exception {
        List<String> by = new ArrayList<>();
        for (String g : groupBy) {
            String name = g.strip().toLowerCase(java.util.Locale.ROOT);
            if (!GROUPS.contains(name)) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                        "--group-by " + g + ": use one or more of " + String.join(", ", GROUPS));
            }
            if (mapping.mode() == MappingMode.PER_TOKEN_TYPE && !PER_TOKEN_TYPE_GROUPS.contains(name)) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--group-by " + g
                        + ": the per-token-type events carry only user, model and deployment; use the request mapping for "
                        + "API, product and subscription");
            }
            if (!by.contains(name)) {
                by.add(name);
            }
        }
        if (top != null && top < 1) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--top " + top + ": give at least 1");
        }
        groupBy = by;
        Instant start = from == null ? null : instant("--from", from);
        Instant end = to == null ? null : instant("--to", to);
        OpenMeterClient client = openmeter.connect(env);
        Pricing pricing = pricingFile == null ? null : Pricing.load(pricingFile);
        // a price is per model: a group of several models (a product, a user) is priced model by model, then summed
        List<String> queried = new ArrayList<>(groupBy);
        if (pricing != null && !queried.contains("model")) {
            queried.add("model");
        }
        Map<Key, Counts> rows = new TreeMap<>();
        if (mapping.mode() == MappingMode.PER_TOKEN_TYPE) {
            List<String> withType = new ArrayList<>(queried);
            withType.add("type");
            for (JsonNode row : query(client, MeterDefinitions.slugFor(mapping.prefix(), "tokens"), start, end, withType)) {
                Counts c = rows.computeIfAbsent(key(row, queried), k -> new Counts());
                double v = row.path("value").asDouble();
                switch (row.path("groupBy").path("type").asText("")) {
                    case "input" -> c.input += v;
                    case "cache_read" -> {
                        c.input += v;
                        c.cached += v;
                    }
                    case "output" -> c.output += v;
                    case "reasoning" -> {
                        c.output += v;
                        c.reasoning += v;
                    }
                    default -> {
                        // a token type this version does not know: counted in the total only
                    }
                }
                c.total += v;
            }
        } else {
            for (String field : MeterDefinitions.REQUEST_FIELDS) {
                for (JsonNode row : query(client, MeterDefinitions.slugFor(mapping.prefix(), field), start, end, queried)) {
                    Counts c = rows.computeIfAbsent(key(row, queried), k -> new Counts());
                    double v = row.path("value").asDouble();
                    switch (field) {
                        case "prompt_tokens" -> c.input += v;
                        case "completion_tokens" -> c.output += v;
                        case "cached_tokens" -> c.cached += v;
                        case "reasoning_tokens" -> c.reasoning += v;
                        default -> c.total += v;
                    }
                }
            }
        }
        List<String> unpriced = new ArrayList<>();
        Map<Key, Counts> shown = new TreeMap<>();
        int modelIndex = queried.indexOf("model");
        for (var e : rows.entrySet()) {
            Counts c = e.getValue();
            Counts into = shown.computeIfAbsent(new Key(e.getKey().windowStart(), e.getKey().windowEnd(),
                    e.getKey().groups().subList(0, groupBy.size())), k -> new Counts());
            into.add(c);
            if (pricing != null) {
                String model = e.getKey().groups().get(modelIndex);
                Optional<BigDecimal> cost = pricing.cost(model, c.input, c.cached, c.output);
                cost.ifPresent(x -> into.cost = into.cost.add(x));
                if (cost.isEmpty()) {
                    into.unpriced = true;
                    if (!unpriced.contains(model)) {
                        unpriced.add(model);
                    }
                }
            }
        }
        print(ranked(shown), pricing, unpriced);
        return ExitCode.OK;
    }

    /** With --top, each window's N largest groups by total tokens, largest first; otherwise every group in order. */
    private List<Map.Entry<Key, Counts>> ranked(Map<Key, Counts> rows) {
        List<Map.Entry<Key, Counts>> all = new ArrayList<>(rows.entrySet());
        if (top == null) {
            return all;
        }
        Map<String, List<Map.Entry<Key, Counts>>> byWindow = new TreeMap<>();
        all.forEach(e -> byWindow.computeIfAbsent(e.getKey().windowStart(), k -> new ArrayList<>()).add(e));
        List<Map.Entry<Key, Counts>> out = new ArrayList<>();
        for (List<Map.Entry<Key, Counts>> w : byWindow.values()) {
            w.sort((a, b) -> Double.compare(b.getValue().total, a.getValue().total));
            out.addAll(w.subList(0, Math.min(top, w.size())));
        }
        return out;
    }

    private List<JsonNode> query(OpenMeterClient client, String slug, Instant start, Instant end, List<String> by) {
        List<Map.Entry<String, String>> q = new ArrayList<>();
        if (user != null) {
            q.add(Map.entry("subject", user));
        }
        if (start != null) {
            q.add(Map.entry("from", start.toString()));
        }
        if (end != null) {
            q.add(Map.entry("to", end.toString()));
        }
        if (window != null) {
            q.add(Map.entry("windowSize", window.name()));
        }
        // subject is OpenMeter's reserved group for the event's subject, our user
        by.forEach(g -> q.add(Map.entry("groupBy", g.equals("user") ? "subject" : g)));
        List<JsonNode> data = new ArrayList<>();
        client.get("/api/v1/meters/" + slug + "/query", q).path("data").forEach(data::add);
        return data;
    }

    private static Key key(JsonNode row, List<String> by) {
        List<String> groups = new ArrayList<>();
        for (String g : by) {
            JsonNode v = g.equals("user") ? row.path("subject") : row.path("groupBy").path(g);
            groups.add(v.isMissingNode() || v.isNull() ? "(none)" : v.asText());
        }
        return new Key(row.path("windowStart").asText(""), row.path("windowEnd").asText(""), groups);
    }

    private void print(List<Map.Entry<Key, Counts>> rows, Pricing pricing, List<String> unpriced) throws Exception {
        List<String> headers = new ArrayList<>(List.of("FROM", "TO"));
        groupBy.forEach(g -> headers.add(g.toUpperCase(java.util.Locale.ROOT)));
        headers.addAll(List.of("INPUT", "CACHED", "OUTPUT", "REASONING", "TOTAL"));
        if (pricing != null) {
            headers.add("COST (" + pricing.currency() + ")");
        }
        Table table = new Table(headers);
        ArrayNode json = MAPPER.createArrayNode();
        BigDecimal totalCost = BigDecimal.ZERO;
        for (var e : rows) {
            Key k = e.getKey();
            Counts c = e.getValue();
            List<String> cells = new ArrayList<>(List.of(k.windowStart(), k.windowEnd()));
            cells.addAll(k.groups());
            for (double v : new double[]{c.input, c.cached, c.output, c.reasoning, c.total}) {
                cells.add(output == OutputFormat.csv ? plain(v) : number(v));
            }
            // a group with an unpriced model has no honest total: its cost is left empty rather than understated
            boolean priced = pricing != null && !c.unpriced;
            if (pricing != null) {
                cells.add(priced ? c.cost.setScale(4, java.math.RoundingMode.HALF_UP).toPlainString() : "");
            }
            if (priced) {
                totalCost = totalCost.add(c.cost);
            }
            table.row(cells);
            ObjectNode o = json.addObject();
            if (user != null) {
                o.put("subject", user);
            }
            o.put("windowStart", k.windowStart()).put("windowEnd", k.windowEnd());
            for (int i = 0; i < groupBy.size(); i++) {
                o.put(groupBy.get(i), k.groups().get(i));
            }
            // counts are whole tokens: integers in JSON, not 182340.0
            o.set("inputTokens", count(c.input));
            o.set("cachedTokens", count(c.cached));
            o.set("outputTokens", count(c.output));
            o.set("reasoningTokens", count(c.reasoning));
            o.set("totalTokens", count(c.total));
            if (priced) {
                o.put("cost", c.cost).put("currency", pricing.currency());
            }
        }
        switch (output) {
            case json -> env.out().println(MAPPER.writeValueAsString(json));
            case csv -> table.printCsv(env.out());
            case table -> {
                if (rows.isEmpty()) {
                    env.out().println("No usage" + (user == null ? "" : " for " + user) + " in this period.");
                } else {
                    table.print(env.out());
                    if (pricing != null) {
                        env.out().println("Total cost" + (top == null ? "" : " of these rows") + ": "
                                + totalCost.setScale(4, java.math.RoundingMode.HALF_UP).toPlainString() + " " + pricing.currency());
                    }
                }
            }
        }
        if (!unpriced.isEmpty()) {
            env.err().println("warning: no price for model " + String.join(", ", new TreeSet<>(unpriced))
                    + " in " + pricingFile + "; the cost of groups with it is left empty");
        }
        env.out().flush();
        env.err().flush();
    }

    private static com.fasterxml.jackson.databind.JsonNode count(double v) {
        return v == Math.rint(v) ? MAPPER.getNodeFactory().numberNode((long) v) : MAPPER.getNodeFactory().numberNode(v);
    }

    /** For machines: no grouping, a dot for decimals, whatever the locale. */
    private static String plain(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : java.math.BigDecimal.valueOf(v).toPlainString();
    }

    /** For people, but the same on every machine: a comma groups thousands in every locale. */
    private static String number(double v) {
        return v == Math.rint(v) ? String.format(java.util.Locale.ROOT, "%,d", (long) v)
                : String.format(java.util.Locale.ROOT, "%,.2f", v);
    }

    private Instant instant(String option, String text) {
        try {
            return text.length() == 10 ? LocalDate.parse(text).atStartOfDay(ZoneOffset.UTC).toInstant() : Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    option + " " + text + ": use an instant like 2026-11-01T00:00:00Z or a date like 2026-11-01");
        }
    }
}
