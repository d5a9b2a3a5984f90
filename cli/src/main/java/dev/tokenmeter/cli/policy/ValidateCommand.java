package dev.tokenmeter.cli.policy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.ExitCode;
import dev.tokenmeter.cli.OutputFormat;
import dev.tokenmeter.policies.manifest.ManifestLoader;
import dev.tokenmeter.policies.validate.ExpressionCompilation;
import dev.tokenmeter.policies.validate.Finding;
import dev.tokenmeter.policies.validate.PolicySetValidator;
import dev.tokenmeter.policies.validate.ValidationResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "validate", mixinStandardHelpOptions = true,
        description = {"Check the policy set offline: manifest, XML, sections and scopes, fragments, named values, loggers, expressions.",
                "Every C# expression is compiled with Mono's mcs and checked against the .NET types APIM allows, when mcs,",
                "mono and Newtonsoft.Json are installed (a note says when they are not; with CI=true that is a finding).",
                "Prints file:line[:column]: [rule] message. Fix: ... for each finding; exit code 1 when there are findings."})
final class ValidateCommand implements Callable<Integer> {

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Parameters(arity = "0..1", paramLabel = "DIR", description = "Policy set directory (env TOKENMETER_POLICY_DIR; default: policies).")
    Path dir;
    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table, json or csv (the findings).")
    OutputFormat output;

    private final Environment env;

    ValidateCommand(Environment env) {
        this.env = env;
    }

    @Override
    public Integer call() throws Exception {
        Path d = dir != null ? dir : env.variable("TOKENMETER_POLICY_DIR").map(Path::of).orElse(Path.of("policies"));
        ValidationResult result = PolicySetValidator.validate(d, ExpressionCompilation.fromEnvironment(env.variables()));
        // on stderr, so -o json and -o csv stay machine-readable
        result.notes().forEach(n -> env.err().println("note: " + n));
        env.err().flush();
        if (output == OutputFormat.json) {
            ArrayNode findings = MAPPER.createArrayNode();
            for (Finding f : result.findings()) {
                findings.addObject().put("file", f.file()).put("line", f.line()).put("column", f.column()).put("rule", f.ruleId())
                        .put("message", f.message()).put("fix", f.fix());
            }
            var json = MAPPER.createObjectNode().put("directory", d.toString()).put("passed", result.passed())
                    .put("expressionsCompiled", result instanceof ValidationResult.Passed p ? p.expressionsCompiled() : 0);
            json.set("findings", findings);
            result.notes().forEach(json.putArray("notes")::add);
            env.out().println(MAPPER.writeValueAsString(json));
        } else if (output == OutputFormat.csv) {
            dev.tokenmeter.cli.Table t = new dev.tokenmeter.cli.Table(java.util.List.of("file", "line", "column", "rule", "message", "fix"));
            result.findings().forEach(f -> t.row(java.util.List.of(f.file(), Integer.toString(f.line()), Integer.toString(f.column()),
                    f.ruleId().toString(), f.message(), f.fix())));
            t.printCsv(env.out());
        } else if (result instanceof ValidationResult.Passed passed) {
            var m = ManifestLoader.load(d);
            env.out().println("Policy set " + m.name() + " " + m.version() + " in " + d + " is valid: "
                    + passed.filesChecked() + " files checked, " + (passed.expressionsCompiled() > 0
                    ? passed.expressionsCompiled() + " expressions compiled." : "expressions not compiled."));
        } else {
            result.findings().forEach(f -> env.out().println(d.resolve(f.file()) + ":" + f.line()
                    + (f.column() > 0 ? ":" + f.column() : "") + ": [" + f.ruleId()
                    + "] " + f.message() + ". Fix: " + f.fix()));
            env.out().println(result.findings().size() + " problem(s) in the policy set in " + d + ".");
        }
        env.out().flush();
        return result.passed() ? ExitCode.OK : ExitCode.FAILURE;
    }
}
