package dev.tokenmeter.cli.policy;

import dev.tokenmeter.cli.CliRunner;
import dev.tokenmeter.testkit.ArmContractServer;
import dev.tokenmeter.testkit.ProjectFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Issue 13, item 1: an environment file makes diff, status and deploy agree; placeholders are refused. */
class EnvironmentsTest {

    private static final Path REPO_SET = ProjectFiles.root().resolve("policies");
    private static final String SERVICE = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-ai"
            + "/providers/Microsoft.ApiManagement/service/apim-ai";
    private static final String TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    private final ArmContractServer arm = ArmContractServer.start().withService(SERVICE, "/apis/azure-openai");
    @TempDir
    Path tmp;

    @BeforeEach
    void writeEnvironment() throws Exception {
        Files.createDirectories(tmp.resolve("environments"));
        Files.writeString(tmp.resolve("environments/prod.yaml"), """
                # the production gateway
                subscription: 00000000-0000-0000-0000-000000000001
                resourceGroup: rg-ai
                service: apim-ai
                scopes: [api:azure-openai]
                logger:
                  eventHubNamespace: ehns.servicebus.windows.net
                  eventHub: apim-usage
                  identityClientId: 11111111-2222-3333-4444-555555555555
                namedValues:
                  tokenmeter-tenant-id: %s
                  tokenmeter-tokens-per-minute: 20000
                  tokenmeter-openmeter-token: {env: PROD_OPENMETER_TOKEN}
                stateDir: state
                """.formatted(TENANT));
    }

    @AfterEach
    void stop() {
        arm.close();
    }

    private CliRunner.Result policy(String command, String... extra) {
        List<String> args = new ArrayList<>(List.of("policy", command, "--dir", REPO_SET.toString(),
                "--arm-endpoint", arm.baseUri().toString()));
        args.addAll(List.of(extra));
        return new CliRunner().env("TOKENMETER_ENVIRONMENTS_DIR", tmp.resolve("environments").toString())
                .env("PROD_OPENMETER_TOKEN", "om_prod_secret_value").run(args.toArray(String[]::new));
    }

    @Test
    void deployDiffAndStatusOfOneEnvironmentAgree() {
        CliRunner.Result deployed = policy("deploy", "--env", "prod");
        assertThat(deployed.exitCode()).as(deployed.err()).isZero();
        assertThat(arm.properties(SERVICE + "/namedValues/tokenmeter-tenant-id").orElseThrow().get("value").asText())
                .isEqualTo(TENANT);
        assertThat(arm.properties(SERVICE + "/namedValues/tokenmeter-tokens-per-minute").orElseThrow().get("value").asText())
                .isEqualTo("20000");
        assertThat(arm.resourceIds()).contains(SERVICE + "/apis/azure-openai/policies/policy");
        assertThat(Files.isDirectory(tmp.resolve("environments/state/deployments"))).as("stateDir beside the file").isTrue();

        CliRunner.Result diff = policy("diff", "--env", "prod");
        assertThat(diff.exitCode()).as(diff.out() + diff.err()).isZero();
        assertThat(diff.out()).contains("No drift");
        CliRunner.Result status = policy("status", "--env", "prod");
        assertThat(status.out()).contains("Scopes:           api:azure-openai", "(matches)");
        assertThat(deployed.out() + deployed.err() + diff.out() + status.out()).doesNotContain("om_prod_secret_value");

        arm.changeOnServer(SERVICE + "/namedValues/tokenmeter-tokens-per-minute",
                arm.properties(SERVICE + "/namedValues/tokenmeter-tokens-per-minute").orElseThrow().put("value", "1"));
        CliRunner.Result drift = policy("diff", "--env", "prod");
        assertThat(drift.exitCode()).isEqualTo(3);
        assertThat(drift.out()).contains("Run 'tokenmeter policy deploy --env prod'");
        assertThat(arm.violations()).isEmpty();
    }

    @Test
    void manifestPlaceholdersAreRefusedAndNamed() {
        CliRunner.Result r = policy("deploy", "--subscription", "00000000-0000-0000-0000-000000000001",
                "--resource-group", "rg-ai", "--service", "apim-ai", "--eventhub-namespace", "ns.servicebus.windows.net",
                "--eventhub", "usage", "--state-dir", tmp.resolve("s").toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("deploy refused: tokenmeter-tenant-id, tokenmeter-openmeter-token would get the manifest's placeholder",
                "--allow-placeholders");
        assertThat(arm.requests()).isEmpty();
        CliRunner.Result allowed = policy("deploy", "--subscription", "00000000-0000-0000-0000-000000000001",
                "--resource-group", "rg-ai", "--service", "apim-ai", "--eventhub-namespace", "ns.servicebus.windows.net",
                "--eventhub", "usage", "--state-dir", tmp.resolve("s").toString(), "--allow-placeholders");
        assertThat(allowed.exitCode()).as(allowed.err()).isZero();
    }

    @Test
    void aSecretWrittenIntoTheFileIsRefused() throws Exception {
        Path file = tmp.resolve("environments/prod.yaml");
        Files.writeString(file, Files.readString(file).replace("{env: PROD_OPENMETER_TOKEN}", "om_literal_token"));
        CliRunner.Result r = policy("diff", "--env", "prod");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("prod.yaml (namedValues.tokenmeter-openmeter-token)", "is a secret",
                "{keyVault: SECRET_URI}").doesNotContain("om_literal_token");
        assertThat(arm.requests()).isEmpty();
    }

    @Test
    void aMisspelledKeyIsNamedWithItsLine() throws Exception {
        Path file = tmp.resolve("environments/prod.yaml");
        Files.writeString(file, Files.readString(file).replace("resourceGroup:", "resourcegroup:"));
        CliRunner.Result r = policy("status", "--env", "prod");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("prod.yaml:3: unknown key 'resourcegroup'", "resourceGroup");
        CliRunner.Result missing = policy("status", "--env", "staging");
        assertThat(missing.err()).contains("no environment file", "staging.yaml");
    }

    @Test
    void aKeyVaultReferenceFromTheFile() throws Exception {
        Path file = tmp.resolve("environments/prod.yaml");
        Files.writeString(file, Files.readString(file).replace("{env: PROD_OPENMETER_TOKEN}",
                "{keyVault: https://kv-ai.vault.azure.net/secrets/openmeter-token}"));
        CliRunner.Result r = policy("deploy", "--env", "prod", "--dry-run");
        assertThat(r.exitCode()).as(r.err()).isEqualTo(3);
        assertThat(r.out()).contains("+key vault: https://kv-ai.vault.azure.net/secrets/openmeter-token");
        CliRunner.Result deployed = policy("deploy", "--env", "prod");
        assertThat(deployed.exitCode()).as(deployed.err()).isZero();
        assertThat(arm.properties(SERVICE + "/namedValues/tokenmeter-openmeter-token").orElseThrow()
                .at("/keyVault/secretIdentifier").asText()).isEqualTo("https://kv-ai.vault.azure.net/secrets/openmeter-token");
        assertThat(arm.violations()).isEmpty();
    }
}
