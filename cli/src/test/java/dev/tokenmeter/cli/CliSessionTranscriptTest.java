package dev.tokenmeter.cli;

import dev.tokenmeter.testkit.ProjectFiles;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.testkit.ArmContractServer;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The session docs/cli.md shows, run for real against the local ARM and OpenMeter servers with the repository's
 * policy set. The transcript is written to cli/target/cli-session.md, from where the docs take it.
 */
class CliSessionTranscriptTest {

    private static final Path ROOT = ProjectFiles.root();
    private static final String SERVICE = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-ai"
            + "/providers/Microsoft.ApiManagement/service/apim-contoso-ai";

    private final ArmContractServer arm = ArmContractServer.start().withService(SERVICE, "/apis/azure-openai");
    private final OpenMeterContractServer openmeter = OpenMeterContractServer.start();
    private final StringBuilder transcript = new StringBuilder();
    @TempDir
    Path tmp;

    @AfterEach
    void stop() {
        arm.close();
        openmeter.close();
    }

    private CliRunner.Result step(String commandLine) {
        CliRunner runner = new CliRunner()
                .env("AZURE_SUBSCRIPTION_ID", "00000000-0000-0000-0000-000000000000")
                .env("TOKENMETER_RESOURCE_GROUP", "rg-ai")
                .env("TOKENMETER_APIM_SERVICE", "apim-contoso-ai")
                .env("AZURE_RESOURCE_MANAGER_ENDPOINT", arm.baseUri().toString())
                .env("TOKENMETER_POLICY_DIR", ROOT.resolve("policies").toString())
                .env("TOKENMETER_STATE_DIR", tmp.toString())
                .env("TOKENMETER_OPENMETER_URL", openmeter.baseUri().toString())
                .env("TOKENMETER_OPENMETER_TOKEN", "om_example_token")
                .env("TOKENMETER_ENVIRONMENTS_DIR", tmp.resolve("environments").toString());
        List<String> args = List.of(commandLine.split(" +"));
        CliRunner.Result r = runner.run(args.stream().map(a -> a.startsWith("samples/") || a.equals("policies")
                ? ROOT.resolve(a).toString() : a.equals("dead-letters") || a.startsWith("pulled")
                ? tmp.resolve(a).toString() : a).toArray(String[]::new));
        // shown as a user in the repository root would see it
        transcript.append("$ ./tokenmeter ").append(commandLine).append('\n')
                .append((r.out() + r.err()).replace(openmeter.baseUri().toString(), "https://openmeter.cloud")
                        .replace(ROOT.toString() + "/", "").replace(tmp.resolve("pulled").toString(), "pulled"));
        if (r.exitCode() != 0) {
            transcript.append("$ echo $?\n").append(r.exitCode()).append('\n');
        }
        transcript.append('\n');
        return r;
    }

    @Test
    void session() throws Exception {
        new dev.tokenmeter.cli.openmeter.SessionMeters(openmeter);
        new dev.tokenmeter.cli.limits.FakeEntitlements(openmeter);
        String environment = """
                # environments/contoso.yaml: one deployment target, kept with the policy set; no secret in it
                subscription: 00000000-0000-0000-0000-000000000000
                resourceGroup: rg-ai
                service: apim-contoso-ai
                scopes: [api:azure-openai]
                logger:
                  eventHubNamespace: ehns-contoso.servicebus.windows.net
                  eventHub: apim-usage
                  identityClientId: 6f1c2b9e-0000-4000-8000-000000000001
                namedValues:
                  tokenmeter-tenant-id: 3f2b8c1e-7d6a-4e21-9b0f-5a4c3d2e1f00
                  tokenmeter-openmeter-token: {keyVault: https://kv-contoso.vault.azure.net/secrets/openmeter-token}
                """;
        Files.createDirectories(tmp.resolve("environments"));
        Files.writeString(tmp.resolve("environments/contoso.yaml"), environment);
        transcript.append("$ cat environments/contoso.yaml\n").append(environment).append('\n');

        assertThat(step("policy validate policies").exitCode()).isZero();
        if (dev.tokenmeter.policies.harness.MonoToolchain.find().isPresent()) {
            assertThat(step("policy test samples/policy-tests").exitCode()).isZero();
        } else {
            System.err.println("SKIPPED: the policy test step of the session: " + dev.tokenmeter.policies.harness.MonoToolchain.NOT_FOUND);
        }
        assertThat(step("policy deploy --scope api:azure-openai --eventhub-namespace ehns-contoso.servicebus.windows.net"
                + " --eventhub apim-usage").exitCode()).isEqualTo(1);
        assertThat(step("policy deploy --env contoso").exitCode()).isZero();
        assertThat(step("policy diff --env contoso").exitCode()).isZero();

        // someone raises the per-user limit in the portal
        String limits = SERVICE + "/namedValues/tokenmeter-tokens-per-minute";
        ObjectNode changed = arm.properties(limits).orElseThrow().put("value", "50000");
        arm.changeOnServer(limits, changed);
        assertThat(step("policy diff --env contoso").exitCode()).isEqualTo(3);
        assertThat(step("policy deploy --env contoso --dry-run").exitCode()).isEqualTo(3);
        assertThat(step("policy status --env contoso").exitCode()).isZero();

        // what the service runs, as a folder: validated and compared like the repository's set
        assertThat(step("policy pull pulled --env contoso").exitCode()).isZero();
        assertThat(step("policy validate pulled").exitCode()).isZero();
        assertThat(step("policy diff --dir pulled --env pulled/environment.yaml").exitCode()).isZero();

        // rolling back would undo the portal change unseen: refused, naming it, until --force
        assertThat(step("policy rollback --env contoso").exitCode()).isEqualTo(1);
        assertThat(step("policy rollback --env contoso --force --dry-run").exitCode()).isEqualTo(3);

        assertThat(step("openmeter meters apply").exitCode()).isZero();
        assertThat(step("openmeter meters apply").exitCode()).isZero();
        assertThat(step("replay samples/usage-records/valid --dead-letter-dir dead-letters").exitCode()).isZero();
        assertThat(step("usage --user alice@contoso.com --from 2026-11-01 --to 2026-11-03 --window day"
                + " --pricing samples/pricing.json").exitCode()).isZero();

        assertThat(step("limits set --user alice@contoso.com --tokens 1000000 --period month").exitCode()).isZero();
        assertThat(step("limits show --user alice@contoso.com").exitCode()).isZero();
        assertThat(step("limits list").exitCode()).isZero();

        assertThat(arm.violations()).isEmpty();
        assertThat(openmeter.violations()).isEmpty();
        assertThat(transcript).doesNotContain("om_example_token");
        Files.writeString(Path.of("target/cli-session.md"), transcript.toString().replace(tmp.toString(), "~/.tokenmeter"));
    }
}
