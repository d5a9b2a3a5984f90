package dev.tokenmeter.policies.scenarios;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenmeter.policies.harness.ApimCache;
import dev.tokenmeter.policies.harness.ExpressionAssembly;
import dev.tokenmeter.policies.harness.ExpressionHost;
import dev.tokenmeter.policies.harness.HarnessException;
import dev.tokenmeter.policies.harness.MonoToolchain;
import dev.tokenmeter.policies.harness.Outcome;
import dev.tokenmeter.policies.harness.PolicyRunner;
import dev.tokenmeter.policies.manifest.PolicySetManifest;
import dev.tokenmeter.policies.set.PolicySet;
import dev.tokenmeter.usage.ParseResult;
import dev.tokenmeter.usage.UsageRecordParser;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Runs users' scenario files against their policy set with the expression harness: every expression compiled once
 * with mcs, one mono process for all scenarios, each scenario with its own APIM cache and its own send-request
 * answers, so scenarios never depend on each other or on their order.
 */
public final class ScenarioSuite {

    /** The logger the usage records go to; its messages are checked against the contract the bridge reads. */
    public static final String USAGE_LOGGER = "tokenmeter-usage";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final UsageRecordParser PARSER = new UsageRecordParser();

    private ScenarioSuite() {
    }

    /**
     * Every {@code *.yaml} and {@code *.yml} file under {@code dirOrFile} (or that one file), in path order.
     *
     * @throws MalformedScenario for the first file that is not a valid scenario file, or when there is none
     */
    public static List<ScenarioFile> read(Path dirOrFile) {
        List<Path> paths;
        if (Files.isRegularFile(dirOrFile)) {
            paths = List.of(dirOrFile);
        } else if (Files.isDirectory(dirOrFile)) {
            try (Stream<Path> walk = Files.walk(dirOrFile)) {
                paths = walk.filter(Files::isRegularFile)
                        .filter(p -> p.getFileName().toString().endsWith(".yaml") || p.getFileName().toString().endsWith(".yml"))
                        .sorted(Comparator.comparing(Path::toString)).toList();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        } else {
            throw new MalformedScenario(dirOrFile, "", "no such file or directory");
        }
        if (paths.isEmpty()) {
            throw new MalformedScenario(dirOrFile, "", "holds no scenario files (*.yaml, *.yml)");
        }
        return paths.stream().map(ScenarioFileReader::read).toList();
    }

    /**
     * @throws MalformedScenario when a file names a policy the set does not have
     * @throws ExpressionAssembly.CompilationFailed when the set's expressions do not compile
     */
    public static List<ScenarioResult> run(PolicySet set, List<ScenarioFile> files, MonoToolchain toolchain, Path cacheDir) {
        for (ScenarioFile file : files) {
            policyOf(set, file);
        }
        Path exe = ExpressionAssembly.compile(toolchain, set.expressions().values(), cacheDir);
        List<ScenarioResult> results = new ArrayList<>();
        try (ExpressionHost host = new ExpressionHost(toolchain, exe)) {
            for (ScenarioFile file : files) {
                for (ScenarioCase c : file.scenarios()) {
                    PolicyRunner runner = new PolicyRunner(set, policyOf(set, file), host, file.namedValues(), new ApimCache(),
                            StubbedCall.transport(c.calls()));
                    Outcome outcome;
                    try {
                        outcome = runner.run(c.scenario());
                    } catch (HarnessException e) {
                        results.add(new ScenarioResult.Errored(file.path(), c.name(), e.getMessage()));
                        continue;
                    } catch (RuntimeException e) {
                        // a value the harness cannot use (a status code that is no number, ...): this scenario only
                        results.add(new ScenarioResult.Errored(file.path(), c.name(), e.getClass().getSimpleName() + ": " + e.getMessage()));
                        continue;
                    }
                    List<ScenarioResult.Difference> differences = compare(c.expect(), outcome);
                    results.add(differences.isEmpty() ? new ScenarioResult.Passed(file.path(), c.name())
                            : new ScenarioResult.Failed(file.path(), c.name(), differences));
                }
            }
        }
        return results;
    }

    private static String policyOf(PolicySet set, ScenarioFile file) {
        if (file.policy() == null) {
            return set.manifest().policies().stream().findFirst().map(PolicySetManifest.PolicyDecl::file)
                    .orElseThrow(() -> new MalformedScenario(file.path(), "policy", "missing, and the policy set declares no policy to default to"));
        }
        if (set.file(file.policy()).filter(f -> f.source() != null).isEmpty()) {
            throw new MalformedScenario(file.path(), "policy", "'" + file.policy() + "' is not a policy file of the set in " + set.dir());
        }
        return file.policy();
    }

    static List<ScenarioResult.Difference> compare(Expectations expect, Outcome outcome) {
        List<ScenarioResult.Difference> out = new ArrayList<>();
        expect.status().filter(s -> s != outcome.status()).ifPresent(s ->
                out.add(new ScenarioResult.Difference("status", s.toString(), Integer.toString(outcome.status()))));
        expect.headers().forEach((name, value) -> {
            List<String> actual = outcome.responseHeaders().get(name);
            String got = actual == null ? null : String.join(", ", actual);
            if (value == null ? got != null : !value.equals(got)) {
                out.add(new ScenarioResult.Difference("headers." + name, value == null ? "absent" : quote(value), got == null ? "absent" : quote(got)));
            }
        });
        expect.bodyContains().ifPresent(text -> {
            String body = outcome.responseBody() == null ? "" : outcome.responseBody();
            if (!body.contains(text)) {
                out.add(new ScenarioResult.Difference("body-contains", quote(text), "a body without it: " + quote(abbreviate(body))));
            }
        });
        expect.backendCalled().filter(b -> b != outcome.reachedBackend()).ifPresent(b ->
                out.add(new ScenarioResult.Difference("backend-called", b.toString(), Boolean.toString(outcome.reachedBackend()))));
        List<Outcome.EventHubMessage> records = outcome.eventHubMessages().stream().filter(m -> USAGE_LOGGER.equals(m.loggerId())).toList();
        for (Outcome.EventHubMessage record : records) {
            // a record the bridge refuses is never billed, whatever the scenario expects of its fields
            ParseResult parsed = PARSER.parse(record.body() == null ? new byte[0] : record.body().getBytes(StandardCharsets.UTF_8));
            if (parsed instanceof ParseResult.Invalid invalid) {
                out.add(new ScenarioResult.Difference("usage-record", "a record the bridge accepts", "one it refuses: " + invalid.reason()));
            }
        }
        expect.usageRecord().ifPresent(u -> {
            if (u instanceof Expectations.UsageExpectation.None) {
                if (!records.isEmpty()) {
                    out.add(new ScenarioResult.Difference("usage-record", "none", records.size() + " record(s): " + abbreviate(records.get(0).body())));
                }
                return;
            }
            Map<String, JsonNode> fields = ((Expectations.UsageExpectation.Fields) u).fields();
            if (records.size() != 1) {
                out.add(new ScenarioResult.Difference("usage-record", "one record", records.size() + " record(s)"));
                return;
            }
            JsonNode record;
            try {
                record = JSON.readTree(records.get(0).body());
            } catch (IOException e) {
                out.add(new ScenarioResult.Difference("usage-record", "a JSON record", quote(abbreviate(records.get(0).body()))));
                return;
            }
            fields.forEach((name, value) -> {
                JsonNode actual = record.get(name);
                if (actual == null || !same(value, actual)) {
                    out.add(new ScenarioResult.Difference("usage-record." + name, value.toString(), actual == null ? "absent" : actual.toString()));
                }
            });
        });
        expect.variables().forEach((name, value) -> {
            JsonNode actual = outcome.variables().get(name);
            if (actual == null || !same(value, actual)) {
                out.add(new ScenarioResult.Difference("variables." + name, value.toString(), actual == null ? "absent" : actual.toString()));
            }
        });
        return out;
    }

    /** JSON equality where 5 and 5.0 are one number (YAML and C# need not agree on a number's type). */
    private static boolean same(JsonNode expected, JsonNode actual) {
        return expected.equals((a, b) -> {
            if (a.isNumber() && b.isNumber()) {
                return a.decimalValue().compareTo(b.decimalValue()) == 0 ? 0 : 1;
            }
            return a.equals(b) ? 0 : 1;
        }, actual);
    }

    private static String quote(String s) {
        return "\"" + s + "\"";
    }

    private static String abbreviate(String s) {
        if (s == null) {
            return "";
        }
        String one = s.replace("\n", "\\n");
        return one.length() <= 120 ? one : one.substring(0, 117) + "...";
    }
}
