package dev.tokenmeter.policies.harness;

import dev.tokenmeter.policies.PolicySetDir;
import dev.tokenmeter.policies.set.PolicySet;

import dev.tokenmeter.testkit.OpenMeterContractServer;

import java.net.URI;
import java.nio.file.Path;
import java.util.Map;

/** Compiles a policy set's expressions (cached) and starts one host for a test class. */
final class HarnessFixture implements AutoCloseable {

    final PolicySet set;
    final MonoToolchain toolchain;
    final ExpressionHost host;

    HarnessFixture(PolicySet set) {
        warmUpSendRequest();
        this.set = set;
        this.toolchain = MonoRequired.toolchain();
        Path exe = ExpressionAssembly.compile(toolchain, set.expressions().values(), cacheDir());
        this.host = new ExpressionHost(toolchain, exe);
    }

    /** An OpenMeter that grants every entitlement, answering {@code value}: for tests that are not about limits. */
    static OpenMeterContractServer grantingOpenMeter(String value) {
        return OpenMeterContractServer.start().route("GET", "/api/v2/customers/[^/]+/entitlements/[^/]+/value",
                request -> OpenMeterContractServer.Reply.json(200, value));
    }

    static OpenMeterContractServer grantingOpenMeter() {
        return grantingOpenMeter("{\"hasAccess\":true}");
    }

    /** The example API policy with the set's own named values, its entitlement check asking {@code openmeter}. */
    PolicyRunner runner(URI openmeter) {
        return new PolicyRunner(set, PolicyHarnessTest.API, host, Map.of("tokenmeter-openmeter-url", openmeter.toString()),
                new ApimCache());
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

    private static boolean warm;

    /**
     * The first send-request of a JVM pays for the HTTP client's start and the contract validator's first look at
     * OpenMeter's OpenAPI document: 2.3 s measured on a loaded 2-core machine, more than the entitlement check's 2 s
     * timeout, so the first scenario of a run failed open. One throw-away request to a throw-away server pays it
     * here, before any test's server counts requests.
     */
    private static synchronized void warmUpSendRequest() {
        if (warm) {
            return;
        }
        try (var server = dev.tokenmeter.testkit.OpenMeterContractServer.start().route("GET", "/api/v2/customers/[^/]+/entitlements/[^/]+/value",
                r -> dev.tokenmeter.testkit.OpenMeterContractServer.Reply.json(200, "{\"hasAccess\":true}"))) {
            var answer = SendRequestTransport.loopbackHttp().send("GET",
                    java.net.URI.create(server.baseUri() + "/api/v2/customers/warm-up/entitlements/tokenmeter_tokens/value"),
                    java.util.Map.of("Authorization", java.util.List.of("Bearer warm-up")), null, java.time.Duration.ofSeconds(60));
            if (!(answer instanceof SendRequestTransport.Answer.Response response) || response.status() != 200) {
                throw new AssertionError("warm-up request to the local OpenMeter failed: " + answer);
            }
        }
        warm = true;
    }

    static Path cacheDir() {
        return PolicySetDir.shipped().resolve("target").resolve("expression-harness");
    }

    @Override
    public void close() {
        host.close();
    }
}
