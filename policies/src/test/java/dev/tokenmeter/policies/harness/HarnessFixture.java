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
        this.toolchain = MonoToolchain.requireOrSkip();
        Path exe = ExpressionAssembly.compile(toolchain, set.expressions().values(), cacheDir());
        this.host = new ExpressionHost(toolchain, exe);
    }

    static Path cacheDir() {
        return PolicySetDir.shipped().resolve("target").resolve("expression-harness");
    }

    @Override
    public void close() {
        host.close();
    }
}
