package dev.tokenmeter.cli;

import com.azure.core.credential.AccessToken;
import com.azure.core.credential.TokenCredential;
import com.azure.identity.CredentialUnavailableException;
import dev.tokenmeter.cli.openmeter.SessionMeters;
import dev.tokenmeter.testkit.ArmContractServer;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/** Issue 13, items 6 and 7: bad input and sign-in failures are one clear line each, with the cause. */
class ErrorsAndSignInTest {

    private static final String POLICIES = dev.tokenmeter.testkit.ProjectFiles.root().resolve("policies").toString();
    private final ArmContractServer arm = ArmContractServer.start();
    @TempDir
    Path tmp;

    @AfterEach
    void stop() {
        arm.close();
    }

    private static CliRunner azure() {
        return new CliRunner().env("AZURE_SUBSCRIPTION_ID", "sub1").env("TOKENMETER_RESOURCE_GROUP", "rg")
                .env("TOKENMETER_APIM_SERVICE", "apim").env("TOKENMETER_POLICY_DIR", POLICIES);
    }

    private static void oneLine(CliRunner.Result r) {
        assertThat(r.err().lines().filter(l -> l.startsWith("error: ")).count()).as(r.err()).isEqualTo(1);
        assertThat(r.err().lines().count()).as(r.err()).isLessThanOrEqualTo(2);
        assertThat(r.err()).doesNotContain("please report", "Exception", "\tat ");
    }

    /** A port nothing listens on: bound, then closed. */
    private static int closedPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void aMalformedArmEndpointIsAUsageError() {
        CliRunner.Result r = azure().run("policy", "status", "--arm-endpoint", "notaurl");
        assertThat(r.exitCode()).isEqualTo(2);
        oneLine(r);
        assertThat(r.err()).contains("Invalid ARM endpoint 'notaurl' (from --arm-endpoint)", "policy status --help");
    }

    @Test
    void aMissingSubscriptionIsOneLineNotTheWholeUsage() {
        CliRunner.Result r = new CliRunner().env("TOKENMETER_POLICY_DIR", POLICIES).run("policy", "deploy", "--resource-group", "rg", "--service", "apim",
                "--arm-endpoint", arm.baseUri().toString());
        assertThat(r.exitCode()).isEqualTo(2);
        oneLine(r);
        assertThat(r.err()).contains("Missing --subscription (or environment variable AZURE_SUBSCRIPTION_ID");
    }

    @Test
    void anUnreachableArmSaysConnectionRefused() throws Exception {
        CliRunner.Result r = azure().run("policy", "status", "--arm-endpoint", "http://127.0.0.1:" + closedPort(),
                "--arm-retries", "0");
        assertThat(r.exitCode()).isEqualTo(1);
        oneLine(r);
        assertThat(r.err()).contains("could not reach Azure Resource Manager", "connection refused");
    }

    @Test
    void signInFailureIsOneLineWithWhatToDo() {
        String chain = "DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
                + "EnvironmentCredential authentication unavailable.\nManagedIdentityCredential authentication "
                + "unavailable. Connection to IMDS endpoint cannot be established.\nAzureCliCredential: Please run 'az login'";
        TokenCredential none = request -> reactor.core.publisher.Mono.error(new CredentialUnavailableException(chain));
        CliRunner.Result r = azure().credential(none).run("policy", "status", "--arm-endpoint", arm.baseUri().toString());
        assertThat(r.exitCode()).isEqualTo(1);
        oneLine(r);
        assertThat(r.err()).contains("not signed in to Azure", "az login", "AZURE_TOKEN_CREDENTIALS=dev")
                .doesNotContain("IMDS", "network");
    }

    @Test
    void theTokenAudienceFollowsTheEndpointOrTheFlag() {
        List<String> scopes = new CopyOnWriteArrayList<>();
        TokenCredential recording = request -> {
            scopes.addAll(request.getScopes());
            return reactor.core.publisher.Mono.just(new AccessToken("t", OffsetDateTime.now().plusHours(1)));
        };
        azure().credential(recording).run("policy", "status", "--arm-endpoint", arm.baseUri().toString());
        assertThat(scopes).isNotEmpty().allSatisfy(s -> assertThat(s).isEqualTo(arm.baseUri() + "/.default"));
        scopes.clear();
        azure().credential(recording).run("policy", "status", "--arm-endpoint", arm.baseUri().toString(),
                "--arm-audience", "https://management.chinacloudapi.cn");
        assertThat(scopes).isNotEmpty().allSatisfy(s -> assertThat(s).isEqualTo("https://management.chinacloudapi.cn/.default"));
    }

    @Test
    void retriesSayTheyAreRetrying() {
        arm.inject(ArmContractServer.Fault.of("GET", "/namedValues$", 429, "TooManyRequests", 1).withHeader("Retry-After", "0"));
        CliRunner.Result r = azure().run("policy", "status", "--arm-endpoint", arm.baseUri().toString(),
                "--dir", dev.tokenmeter.testkit.ProjectFiles.root().resolve("policies").toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.err()).contains("retrying GET /subscriptions/sub1/resourceGroups/rg/providers/Microsoft.ApiManagement/service/apim/namedValues after HTTP 429 (retry 1 of 4)");
    }

    @Test
    void anUnreachableOpenMeterNamesTheCause() throws Exception {
        CliRunner.Result r = new CliRunner().run("openmeter", "meters", "apply", "--openmeter-url",
                "http://127.0.0.1:" + closedPort());
        assertThat(r.exitCode()).isEqualTo(1);
        oneLine(r);
        assertThat(r.err()).contains("connection refused").doesNotContain("null");
        CliRunner.Result bad = new CliRunner().run("usage", "--user", "u", "--openmeter-url", "openmeter.cloud");
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).contains("Invalid OpenMeter URL 'openmeter.cloud'");
    }

    @Test
    void anOpenMeterUrlEndingInApiV1IsNotDoubled() {
        try (OpenMeterContractServer openmeter = OpenMeterContractServer.start()) {
            new SessionMeters(openmeter);
            CliRunner.Result r = new CliRunner().env("TOKENMETER_OPENMETER_TOKEN", "t").run("openmeter", "meters",
                    "apply", "--openmeter-url", openmeter.baseUri() + "/api/v1/");
            assertThat(r.exitCode()).as(r.err()).isZero();
            assertThat(openmeter.violations()).isEmpty();
        }
    }
}
