package dev.tokenmeter.cli.policy;

import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.ExitCode;
import dev.tokenmeter.policies.manifest.ManifestLoader;
import dev.tokenmeter.policies.manifest.PolicySetManifest;
import dev.tokenmeter.policies.render.PolicyRenderer;
import dev.tokenmeter.policies.set.PolicySet;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "render", mixinStandardHelpOptions = true,
        description = "Print the effective policy for review: every fragment expanded in place, expressions as written, named values as {{name}} unless given.")
final class RenderCommand implements Callable<Integer> {

    @Parameters(arity = "0..1", paramLabel = "DIR", description = "Policy set directory (env TOKENMETER_POLICY_DIR; default: policies).")
    Path dir;
    @Option(names = "--policy", paramLabel = "FILE", description = "Policy file of the set to render (default: the manifest's first policy).")
    String policyFile;
    @Option(names = "--set", paramLabel = "NAME=VALUE", description = "Substitute a named value. Repeatable.")
    Map<String, String> values = new LinkedHashMap<>();
    @Option(names = "--with-defaults", description = "Substitute the manifest's default for every named value not given with --set.")
    boolean withDefaults;

    private final Environment env;

    RenderCommand(Environment env) {
        this.env = env;
    }

    @Override
    public Integer call() {
        Path d = dir != null ? dir : env.variable("TOKENMETER_POLICY_DIR").map(Path::of).orElse(Path.of("policies"));
        PolicySet set;
        try {
            set = PolicySet.load(d);
        } catch (ManifestLoader.ManifestException e) {
            throw new CliFailure(e.getMessage() + "; run 'tokenmeter policy validate " + d + "'");
        }
        PolicySetManifest m = set.manifest();
        String file = policyFile != null ? policyFile : m.policies().stream().findFirst()
                .map(PolicySetManifest.PolicyDecl::file)
                .orElseThrow(() -> new CliFailure("the policy set in " + d + " declares no policy: pass --policy FILE"));
        if (set.file(file).isEmpty()) {
            throw new CliFailure("--policy " + file + " is not a file of the policy set in " + d);
        }
        try {
            env.out().println(PolicyRenderer.render(set, file, name -> values.getOrDefault(name,
                    withDefaults ? m.namedValue(name).map(PolicySetManifest.NamedValueDecl::defaultValue).orElse(null) : null)));
        } catch (RuntimeException e) {
            throw new CliFailure("cannot render " + file + ": " + e.getMessage() + "; run 'tokenmeter policy validate " + d + "'", e);
        }
        env.out().flush();
        return ExitCode.OK;
    }
}
