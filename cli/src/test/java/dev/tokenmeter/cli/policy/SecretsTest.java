package dev.tokenmeter.cli.policy;

import dev.tokenmeter.cli.CliRunner;
import dev.tokenmeter.testkit.ArmContractServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Key Vault named values and a connection-string logger: deployed as the contract allows, never printed or saved. */
class SecretsTest {

    private static final String CONNECTION_STRING = "Endpoint=sb://ehns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=c2VjcmV0";
    private static final String SERVICE = "/subscriptions/sub1/resourceGroups/rg/providers/Microsoft.ApiManagement/service/apim";

    private final ArmContractServer arm = ArmContractServer.start();
    @TempDir
    Path tmp;

    @AfterEach
    void stop() {
        arm.close();
    }

    private CliRunner.Result run(String command, String... extra) throws Exception {
        Path set = tmp.resolve("set");
        if (!Files.exists(set)) {
            PolicySetFixture.write(set, "1.0.0", PolicySetFixture.NO_LIMITS);
        }
        String[] base = {"policy", command, "--dir", set.toString(), "--subscription", "sub1", "--resource-group", "rg",
                "--service", "apim", "--arm-endpoint", arm.baseUri().toString(),
                "--key-vault-secret", "tokenmeter-tokens-per-minute=https://kv-contoso.vault.azure.net/secrets/tpm",
                "--key-vault-identity", "6f1c2b9e-0000-4000-8000-000000000001",
                "--eventhub", "usage", "--eventhub-connection-string-env", "EH_CONNECTION"};
        String[] args = Stream.concat(Stream.of(base), Stream.of(extra)).toArray(String[]::new);
        return new CliRunner().env("EH_CONNECTION", CONNECTION_STRING).env("TOKENMETER_STATE_DIR", tmp.resolve("state").toString())
                .run(args);
    }

    @Test
    void deploysKeyVaultReferencesAndAConnectionStringLoggerWithoutShowingThem() throws Exception {
        CliRunner.Result first = run("deploy");
        assertThat(first.exitCode()).as(first.err()).isZero();
        assertThat(arm.properties(SERVICE + "/namedValues/tokenmeter-tokens-per-minute")).get().satisfies(p -> {
            assertThat(p.at("/keyVault/secretIdentifier").asText()).isEqualTo("https://kv-contoso.vault.azure.net/secrets/tpm");
            assertThat(p.get("secret").asBoolean()).isTrue();
            assertThat(p.has("value")).isFalse();
        });
        assertThat(arm.properties(SERVICE + "/loggers/tokenmeter-usage").orElseThrow().at("/credentials/connectionString").asText())
                .isEqualTo(CONNECTION_STRING);

        CliRunner.Result diff = run("diff");
        assertThat(diff.exitCode()).as(diff.out()).isZero();
        CliRunner.Result again = run("deploy");
        assertThat(again.out()).contains("Nothing to change");

        CliRunner.Result json = run("diff", "-o", "json");
        String everything = first.out() + first.err() + diff.out() + again.out() + json.out();
        assertThat(everything).doesNotContain("c2VjcmV0");
        try (Stream<Path> files = Files.walk(tmp.resolve("state"))) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                assertThat(Files.readString(f)).doesNotContain("c2VjcmV0");
            }
        }
        assertThat(arm.violations()).isEmpty();
    }
}
