package dev.tokenmeter.cli.policy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.ExitCode;
import dev.tokenmeter.cli.OutputFormat;
import dev.tokenmeter.policies.harness.ExpressionAssembly;
import dev.tokenmeter.policies.harness.MonoToolchain;
import dev.tokenmeter.policies.manifest.ManifestLoader;
import dev.tokenmeter.policies.scenarios.MalformedScenario;
import dev.tokenmeter.policies.scenarios.ScenarioFile;
import dev.tokenmeter.policies.scenarios.ScenarioResult;
import dev.tokenmeter.policies.scenarios.ScenarioSuite;
import dev.tokenmeter.policies.set.PolicySet;
import dev.tokenmeter.policies.validate.ExpressionCompilation;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

@Command(name = "test", mixinStandardHelpOptions = true,
        description = {"Run scenario files (YAML, see docs/policy-tests.md) against the policy set: each request goes through the",
                "policies with their real C# expressions (compiled with Mono's mcs, run on mono), and the status, headers, usage",
                "record and variables are compared with what the scenario expects. One line per scenario, PASS or FAIL with what",
                "differed. Exit code 0 when all pass, 1 when any fails, 2 when a scenario file is malformed."})
final class TestCommand implements Callable<Integer> {

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Parameters(paramLabel = "SCENARIOS", description = "A scenario file, or a directory whose *.yaml and *.yml files are scenario files.")
    Path scenarios;
    @Option(names = "--dir", description = "Policy set directory holding policy-set.json (env TOKENMETER_POLICY_DIR; default: policies).")
    Path dir;
    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json.")
    OutputFormat output;
    @Spec
    CommandSpec spec;

    private final Environment env;

    TestCommand(Environment env) {
        this.env = env;
    }

    @Override
    public Integer call() throws Exception {
        if (output == OutputFormat.csv) {
            throw new ParameterException(spec.commandLine(), "-o csv: policy test prints one line per scenario (table) or json, not csv");
        }
        Path d = dir != null ? dir : env.variable("TOKENMETER_POLICY_DIR").map(Path::of).orElse(Path.of("policies"));
        List<ScenarioFile> files;
        try {
            files = ScenarioSuite.read(scenarios);
        } catch (MalformedScenario e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        PolicySet set;
        try {
            set = PolicySet.load(d);
        } catch (ManifestLoader.ManifestException e) {
            throw new CliFailure(e.getMessage() + "; run 'tokenmeter policy validate " + d + "'");
        }
        MonoToolchain toolchain = MonoToolchain.find(env.variables()).orElseThrow(() ->
                new CliFailure("policy test needs the C# toolchain to run the policies' expressions: " + MonoToolchain.NOT_FOUND));
        List<ScenarioResult> results;
        try {
            results = ScenarioSuite.run(set, files, toolchain, ExpressionCompilation.cacheDir(env.variables()));
        } catch (MalformedScenario e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        } catch (ExpressionAssembly.CompilationFailed e) {
            e.diagnostics().forEach(diagnostic -> env.err().println(d.resolve(diagnostic.file()) + diagnostic.format().substring(diagnostic.file().length())));
            throw new CliFailure("the expressions of the policy set in " + d + " do not compile (above); run 'tokenmeter policy validate " + d + "'");
        }
        long failed = results.stream().filter(r -> !r.passed()).count();
        if (output == OutputFormat.json) {
            ObjectNode json = MAPPER.createObjectNode().put("policySet", d.toString()).put("scenarios", results.size())
                    .put("passed", results.size() - failed).put("failed", failed);
            ArrayNode list = json.putArray("results");
            for (ScenarioResult r : results) {
                ObjectNode o = list.addObject().put("file", r.file().toString()).put("name", r.name()).put("passed", r.passed());
                if (r instanceof ScenarioResult.Failed f) {
                    ArrayNode differences = o.putArray("differences");
                    f.differences().forEach(x -> differences.addObject().put("field", x.field()).put("expected", x.expected()).put("actual", x.actual()));
                } else if (r instanceof ScenarioResult.Errored e) {
                    o.put("error", e.error());
                }
            }
            env.out().println(MAPPER.writeValueAsString(json));
        } else {
            for (ScenarioResult r : results) {
                env.out().println(line(r));
            }
            env.out().println(results.size() + " scenario(s): " + (results.size() - failed) + " passed, " + failed + " failed.");
        }
        env.out().flush();
        return failed == 0 ? ExitCode.OK : ExitCode.FAILURE;
    }

    static String line(ScenarioResult r) {
        if (r instanceof ScenarioResult.Failed f) {
            return "FAIL " + r.file() + ": " + r.name() + ": " + f.differences().stream().map(ScenarioResult.Difference::format)
                    .collect(Collectors.joining("; "));
        }
        if (r instanceof ScenarioResult.Errored e) {
            return "FAIL " + r.file() + ": " + r.name() + ": could not run: " + e.error();
        }
        return "PASS " + r.file() + ": " + r.name();
    }
}
