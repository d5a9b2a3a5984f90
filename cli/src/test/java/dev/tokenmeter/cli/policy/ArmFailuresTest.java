package dev.tokenmeter.cli.policy;

import dev.tokenmeter.cli.CliRunner;
import dev.tokenmeter.testkit.ArmContractServer;
import dev.tokenmeter.testkit.ArmContractServer.Fault;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Each ARM refusal gives a message that names the request and resource and says what to do. */
class ArmFailuresTest {

    private final ArmContractServer arm = ArmContractServer.start();
    @TempDir
    Path tmp;
    private Path set;

    @BeforeEach
    void writeSet() throws Exception {
        set = tmp.resolve("set");
        PolicySetFixture.write(set, "1.0.0", PolicySetFixture.NO_LIMITS);
    }

    @AfterEach
    void stop() {
        arm.close();
    }

    private CliRunner.Result deploy() {
        return new CliRunner().run("policy", "deploy", "--dir", set.toString(), "--subscription", "sub1",
                "--resource-group", "rg", "--service", "apim", "--arm-endpoint", arm.baseUri().toString(),
                "--state-dir", tmp.resolve("state").toString(), "--scope", "product:starter",
                "--eventhub-namespace", "ns.servicebus.windows.net", "--eventhub", "usage",
                "--arm-retries", "2", "--arm-retry-delay", "PT0.01S");
    }

    @Test
    void unauthorized() {
        arm.acceptOnlyToken("another-token");
        CliRunner.Result r = deploy();
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("GET /subscriptions/sub1/resourceGroups/rg/providers/Microsoft.ApiManagement/service/apim/namedValues",
                "HTTP 401", "az login").doesNotContain("test-token");
    }

    @Test
    void forbidden() {
        arm.inject(Fault.of("GET", "/namedValues/", 403, "AuthorizationFailed", 1));
        CliRunner.Result r = deploy();
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("HTTP 403 AuthorizationFailed", "API Management Service Contributor");
    }

    @Test
    void notFound() {
        arm.inject(Fault.of("GET", "/namedValues/", 404, "ResourceNotFound", 1));
        // a missing named value is normal (it will be created); a missing service answers the collection too
        arm.inject(Fault.of("PUT", "/namedValues/", 404, "ResourceNotFound", 1));
        CliRunner.Result r = deploy();
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("PUT ", "HTTP 404", "check --subscription, --resource-group and --service");
    }

    @Test
    void conflict() {
        arm.inject(Fault.of("PUT", "/policyFragments/tm-identity", 409, "Conflict", 1));
        CliRunner.Result r = deploy();
        assertThat(r.exitCode()).isEqualTo(1);
        // a failed attempt is never the deployment rollback undoes: the message says how to finish it instead
        assertThat(r.err()).contains("PUT ", "policyFragments/tm-identity", "HTTP 409", "wait for it to finish",
                "recorded as failed", "deploy again to finish it");
    }

    @Test
    void changedMeanwhile() {
        assertThat(deploy().exitCode()).isZero();
        arm.inject(Fault.of("PUT", "/products/starter/policies/policy", 412, "PreconditionFailed", 1));
        arm.changeOnServer("/subscriptions/sub1/resourceGroups/rg/providers/Microsoft.ApiManagement/service/apim"
                + "/products/starter/policies/policy", (com.fasterxml.jackson.databind.node.ObjectNode)
                new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode().put("value", "<policies />"));
        CliRunner.Result r = deploy();
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("HTTP 412", "changed by someone else", "policy diff");
        assertThat(arm.violations()).isEmpty();
    }

    @Test
    void throttlingAndServerErrorsAreRetried() {
        arm.inject(Fault.of("GET", "/policyFragments/tm-identity", 429, "TooManyRequests", 2).withHeader("Retry-After", "0"));
        arm.inject(Fault.of("PUT", "/loggers/tokenmeter-usage", 503, "ServiceUnavailable", 1));
        CliRunner.Result r = deploy();
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(arm.requests().stream().filter(q -> q.path().endsWith("/policyFragments/tm-identity")
                && q.method().equals("GET")).count())
                .as("two throttled reads, the read that passed, the read after the long-running PUT").isEqualTo(4);
        assertThat(arm.violations()).isEmpty();
    }

    @Test
    void throttlingThatOutlastsTheRetries() {
        arm.inject(Fault.of("GET", "/loggers/", 429, "TooManyRequests", 10).withHeader("Retry-After", "0"));
        CliRunner.Result r = deploy();
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("HTTP 429", "throttling", "wait a few minutes");
    }
}
