package dev.tokenmeter.policies.harness;

import dev.tokenmeter.policies.PolicySetDir;
import dev.tokenmeter.policies.set.PolicySet;

import java.nio.file.Path;

/** Compiles a policy set's expressions (cached) and starts one host for a test class. */
final class HarnessFixture implements AutoCloseable {

    final PolicySet set;
    final MonoToolchain toolchain;
    final ExpressionHost host;

    HarnessFixture(PolicySet set) {
        this.set = set;
        this.toolchain = MonoRequired.toolchain();
        Path exe = ExpressionAssembly.compile(toolchain, set.expressions().values(), cacheDir());
        this.host = new ExpressionHost(toolchain, exe);
    }

    /**
     * Uses of .NET types APIM does not allow in expressions, as "file:line: type"; the host reads them from the
     * compiled IL of each expression.
     */
    java.util.List<String> typeViolations() {
        var expressions = set.expressions();
        return host.disallowedMembers().stream().map(v -> {
            var e = expressions.get(v.expressionId());
            return (e == null ? "expression " + v.expressionId() : e.location()) + ": " + v.member();
        }).toList();
    }

    static Path cacheDir() {
        return PolicySetDir.shipped().resolve("target").resolve("expression-harness");
    }

    @Override
    public void close() {
        host.close();
    }
}
