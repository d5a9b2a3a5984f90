package dev.tokenmeter.policies.validate;

import dev.tokenmeter.policies.harness.ExpressionAssembly;
import dev.tokenmeter.policies.harness.ExpressionHost;
import dev.tokenmeter.policies.harness.HarnessException;
import dev.tokenmeter.policies.harness.MonoToolchain;
import dev.tokenmeter.policies.manifest.ManifestLoader;
import dev.tokenmeter.policies.set.PolicyFile;
import dev.tokenmeter.policies.set.PolicySet;
import dev.tokenmeter.policies.source.PolicyExpression;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The validation step that needs the C# toolchain: every expression compiled with Mono's {@code mcs} (type errors at
 * the policy file's line and column), then the compiled IL checked against the .NET types and members APIM allows.
 * Without the toolchain it says so in a note and the other rules still run; where the environment says
 * {@code CI=true} a missing toolchain is a finding, so a pipeline never passes a set nobody compiled.
 */
public final class ExpressionCompilation {

    private final Optional<MonoToolchain> toolchain;
    private final boolean ci;
    private final Path cacheDir;

    private ExpressionCompilation(Optional<MonoToolchain> toolchain, boolean ci, Path cacheDir) {
        this.toolchain = toolchain;
        this.ci = ci;
        this.cacheDir = cacheDir;
    }

    /**
     * Reads PATH (for mcs and mono), TOKENMETER_NEWTONSOFT_DLL, CI, and where compiled expressions are cached:
     * TOKENMETER_CACHE_DIR, else $XDG_CACHE_HOME/tokenmeter, else ~/.cache/tokenmeter (per user, so nobody else can
     * plant an executable the check would run).
     */
    public static ExpressionCompilation fromEnvironment(Map<String, String> environment) {
        return new ExpressionCompilation(MonoToolchain.find(environment), "true".equalsIgnoreCase(environment.get("CI")),
                cacheDir(environment));
    }

    public static Path cacheDir(Map<String, String> environment) {
        String explicit = environment.get("TOKENMETER_CACHE_DIR");
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit).resolve("expressions");
        }
        String xdg = environment.get("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("tokenmeter").resolve("expressions");
    }

    public Optional<MonoToolchain> toolchain() {
        return toolchain;
    }

    /** What compiling a set found, how many expressions were compiled, and what could not be checked. */
    public record Report(List<Finding> findings, int compiled, List<String> notes) {
    }

    public Report check(PolicySet set) {
        if (toolchain.isEmpty()) {
            String missing = "expressions not compiled: " + MonoToolchain.NOT_FOUND;
            if (ci) {
                return new Report(List.of(new Finding(ManifestLoader.FILE_NAME, 0, RuleId.EXPRESSION_COMPILER,
                        "CI=true and the C# toolchain is missing: " + MonoToolchain.NOT_FOUND.replaceFirst(" \\(install them: .*", ""),
                        "install it on the build agent (" + MonoToolchain.HOW_TO_INSTALL + ")")), 0, List.of());
            }
            return new Report(List.of(), 0, List.of(missing));
        }
        // a file whose expressions could not be read (an unbalanced bracket) has its own finding already
        List<PolicyExpression> expressions = new ArrayList<>();
        for (PolicyFile file : set.files()) {
            if (file.source() != null && file.source().problems().isEmpty()) {
                expressions.addAll(file.source().expressions());
            }
        }
        Path exe;
        try {
            exe = ExpressionAssembly.compile(toolchain.get(), expressions, cacheDir);
        } catch (ExpressionAssembly.CompilationFailed failed) {
            List<Finding> findings = new ArrayList<>();
            for (ExpressionAssembly.Diagnostic d : failed.diagnostics()) {
                findings.add(new Finding(d.file(), d.line(), d.column(), RuleId.EXPRESSION_COMPILES,
                        "C# error " + d.code() + ": " + d.message(), "correct the expression; APIM compiles it the same way on deployment"));
            }
            if (findings.isEmpty()) {
                findings.add(new Finding(ManifestLoader.FILE_NAME, 0, RuleId.EXPRESSION_COMPILES,
                        failed.getMessage().replace('\n', ' '), "correct the expressions"));
            }
            return new Report(findings, 0, List.of());
        } catch (HarnessException e) {
            return new Report(List.of(), 0, List.of("expressions not compiled: " + e.getMessage()));
        }
        List<Finding> findings = new ArrayList<>();
        var byId = set.expressions();
        try (ExpressionHost host = new ExpressionHost(toolchain.get(), exe)) {
            for (ExpressionHost.DisallowedMember v : host.disallowedMembers()) {
                PolicyExpression e = byId.get(v.expressionId());
                findings.add(new Finding(e == null ? ManifestLoader.FILE_NAME : e.file(), e == null ? 0 : e.line(),
                        e == null ? 0 : e.column(), RuleId.EXPRESSION_TYPES,
                        v.member() + " is not among the .NET types and members APIM allows in policy expressions",
                        "use an allowed type or member (\"API Management policy expressions\", .NET Framework types allowed)"));
            }
        } catch (HarnessException e) {
            return new Report(List.of(), expressions.size(), List.of("allowed types not checked: " + e.getMessage()));
        }
        return new Report(findings, expressions.size(), List.of());
    }
}
