package dev.tokenmeter.cli.policy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenmeter.policies.manifest.ManifestLoader;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenmeter.cli.CliRunner;
import dev.tokenmeter.testkit.ArmContractServer;
import dev.tokenmeter.testkit.ProjectFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** pull -> validate -> diff: what a service runs, as a folder the other commands accept, without a secret in it. */
class PullTest {

    private static final Path REPO_SET = ProjectFiles.root().resolve("policies");
    private static final String TENANT = "3f2b8c1e-7d6a-4e21-9b0f-5a4c3d2e1f00";
    private static final String SECRET = "om_plain_secret_4b1d";

    private final ArmContractServer arm = ArmContractServer.start();
    @TempDir
    Path tmp;

    @AfterEach
    void stop() {
        arm.close();
    }

    private CliRunner.Result cli(CliRunner runner, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--arm-endpoint", arm.baseUri().toString()));
        if (!args[1].equals("validate")) {
            all.addAll(List.of("--subscription", "sub1", "--resource-group", "rg", "--service", "apim"));
        }
        return runner.run(all.toArray(String[]::new));
    }

    private void deployRepositorySet(String... secretOptions) {
        List<String> args = new ArrayList<>(List.of("policy", "deploy", "--dir", REPO_SET.toString(), "--scope", "api:azure-openai",
                "--eventhub-namespace", "ehns.servicebus.windows.net", "--eventhub", "apim-usage",
                "--logger-identity", "6f1c2b9e-0000-4000-8000-000000000001", "--set", "tokenmeter-tenant-id=" + TENANT,
                "--set", "tokenmeter-tokens-per-minute=25000", "--state-dir", tmp.resolve("state").toString()));
        args.addAll(List.of(secretOptions));
        CliRunner.Result r = cli(new CliRunner(), args.toArray(String[]::new));
        assertThat(r.exitCode()).as(r.err()).isZero();
    }

    @Test
    void aPulledServiceValidatesAndShowsNoDrift() throws Exception {
        deployRepositorySet("--key-vault-secret", "tokenmeter-openmeter-token=https://kv.vault.azure.net/secrets/om",
                "--key-vault-identity", "6f1c2b9e-0000-4000-8000-000000000002");
        Path pulled = tmp.resolve("pulled");
        CliRunner.Result pull = cli(new CliRunner(), "policy", "pull", pulled.toString(), "--scope", "api:azure-openai");
        assertThat(pull.exitCode()).as(pull.err()).isZero();
        String version = ManifestLoader.load(REPO_SET).version();
        assertThat(pull.out()).contains("Pulled policy set tokenmeter " + version, "9 fragments", "1 policy", "1 logger");
        assertThat(pulled.resolve("fragments/tokenmeter-identity.xml"))
                .hasSameTextualContentAs(REPO_SET.resolve("fragments/tokenmeter-identity.xml"));
        JsonNode manifest = new ObjectMapper().readTree(pulled.resolve("policy-set.json").toFile());
        assertThat(manifest.get("version").asText()).isEqualTo(version);
        assertThat(Files.readString(pulled.resolve("environment.yaml")))
                .contains("keyVault: \"https://kv.vault.azure.net/secrets/om\"", "keyVaultIdentity: \"6f1c2b9e-0000-4000-8000-000000000002\"",
                        "eventHubNamespace: \"ehns.servicebus.windows.net\"");

        CliRunner.Result validate = new CliRunner().run("policy", "validate", pulled.toString());
        assertThat(validate.exitCode()).as(validate.out() + validate.err()).isZero();
        CliRunner.Result diff = cli(new CliRunner(), "policy", "diff", "--dir", pulled.toString(), "--env",
                pulled.resolve("environment.yaml").toString());
        assertThat(diff.exitCode()).as(diff.out() + diff.err()).isZero();
        assertThat(diff.out()).contains("No drift");

        // the round trip sees a change made afterwards
        arm.changeOnServer("/subscriptions/sub1/resourceGroups/rg/providers/Microsoft.ApiManagement/service/apim/namedValues/tokenmeter-tokens-per-minute",
                arm.properties("/subscriptions/sub1/resourceGroups/rg/providers/Microsoft.ApiManagement/service/apim/namedValues/tokenmeter-tokens-per-minute")
                        .orElseThrow().put("value", "1"));
        assertThat(cli(new CliRunner(), "policy", "diff", "--dir", pulled.toString(), "--env",
                pulled.resolve("environment.yaml").toString()).exitCode()).isEqualTo(3);
        assertThat(arm.requests()).noneMatch(r -> r.path().endsWith("/listValue"));
        assertThat(arm.violations()).isEmpty();
    }

    @Test
    void aPlainSecretIsPulledAsAVariableToSetNeverAsItsValue() throws Exception {
        deployRepositorySet("--set", "tokenmeter-openmeter-token=" + SECRET);
        Path pulled = tmp.resolve("pulled");
        CliRunner.Result pull = cli(new CliRunner(), "policy", "pull", pulled.toString(), "--scope", "api:azure-openai");
        assertThat(pull.exitCode()).as(pull.err()).isZero();
        assertThat(pull.out()).contains("TOKENMETER_OPENMETER_TOKEN");
        try (Stream<Path> files = Files.walk(pulled)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                assertThat(Files.readString(f)).as(f.toString()).doesNotContain(SECRET);
            }
        }
        assertThat(Files.readString(pulled.resolve("environment.yaml"))).contains("env: \"TOKENMETER_OPENMETER_TOKEN\"");

        CliRunner.Result withoutSecret = cli(new CliRunner(), "policy", "diff", "--dir", pulled.toString(), "--env",
                pulled.resolve("environment.yaml").toString());
        assertThat(withoutSecret.exitCode()).isEqualTo(1);
        assertThat(withoutSecret.err()).contains("TOKENMETER_OPENMETER_TOKEN is not set");
        CliRunner.Result diff = cli(new CliRunner().env("TOKENMETER_OPENMETER_TOKEN", SECRET), "policy", "diff",
                "--dir", pulled.toString(), "--env", pulled.resolve("environment.yaml").toString());
        assertThat(diff.exitCode()).as(diff.out() + diff.err()).isZero();
        assertThat(pull.out() + pull.err() + diff.out()).doesNotContain(SECRET);

        CliRunner.Result again = cli(new CliRunner(), "policy", "pull", pulled.toString(), "--scope", "api:azure-openai");
        assertThat(again.exitCode()).isEqualTo(1);
        assertThat(again.err()).contains(pulled.toString(), "--force");
        assertThat(arm.violations()).isEmpty();
    }
}
