package dev.tokenmeter.cli.policy;

import dev.tokenmeter.cli.CliRunner;
import dev.tokenmeter.testkit.ArmContractServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Issue 13, items 2 and 5: deploy validates first and checks that its targets exist before any write. */
class DeployPreflightTest {

    private static final String SUB = "00000000-0000-0000-0000-000000000001";
    private static final String SERVICE = "/subscriptions/" + SUB + "/resourceGroups/rg-ai"
            + "/providers/Microsoft.ApiManagement/service/apim-ai";

    private final ArmContractServer arm = ArmContractServer.start().withService(SERVICE, "/apis/azure-openai");
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

    private CliRunner.Result run(String command, String subscription, String group, String service, String... extra) {
        List<String> args = new ArrayList<>(List.of("policy", command, "--subscription", subscription,
                "--resource-group", group, "--service", service, "--arm-endpoint", arm.baseUri().toString()));
        if (!command.equals("rollback")) {
            args.addAll(List.of("--dir", set.toString()));
        }
        if (command.equals("deploy") || command.equals("rollback")) {
            args.addAll(List.of("--state-dir", tmp.resolve("state").toString()));
        }
        if (command.equals("deploy")) {
            args.addAll(List.of("--eventhub-namespace", "ns.servicebus.windows.net", "--eventhub", "usage"));
        }
        args.addAll(List.of(extra));
        return new CliRunner().run(args.toArray(String[]::new));
    }

    private CliRunner.Result deploy(String... extra) {
        return run("deploy", SUB, "rg-ai", "apim-ai", extra);
    }

    @Test
    void brokenXmlIsRefusedBeforeAnyRequest() throws Exception {
        Files.writeString(set.resolve("fragments/tm-limits.xml"), "<fragment>\n\t<set-variable name=\"x\" value=\"1\">\n</fragment>\n");
        for (String dryRun : new String[]{"--dry-run", "--scope=api:azure-openai"}) {
            CliRunner.Result r = deploy("--scope", "api:azure-openai", dryRun);
            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.err()).contains("tm-limits.xml:", "deploy refused", "1 problem(s)", "policy validate");
            assertThat(r.out()).doesNotContain("Dry run");
        }
        assertThat(arm.requests()).isEmpty();
    }

    @Test
    void aMisspelledFragmentIdIsRefused() throws Exception {
        Path policy = set.resolve("apis/openai.xml");
        Files.writeString(policy, Files.readString(policy).replace("fragment-id=\"tm-limits\"", "fragment-id=\"tm-limitz\""));
        CliRunner.Result r = deploy("--scope", "api:azure-openai", "--dry-run");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("openai.xml:", "tm-limitz", "deploy refused");
        assertThat(arm.requests()).isEmpty();
    }

    @Test
    void aWrongServiceIsNamedNotPlannedAsANewDeployment() {
        CliRunner.Result r = run("deploy", SUB, "rg-ai", "apim-typo", "--dry-run");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("API Management service apim-typo not found in resource group rg-ai", "check --service");
        assertThat(r.out()).doesNotContain("create");
        for (String command : List.of("diff", "status", "rollback")) {
            CliRunner.Result other = run(command, SUB, "rg-ai", "apim-typo");
            assertThat(other.exitCode()).as(command).isEqualTo(1);
            assertThat(other.err()).as(command).contains("apim-typo not found", "check --service");
        }
        assertThat(arm.requests()).allSatisfy(q -> assertThat(q.method()).isEqualTo("GET"));
        assertThat(arm.violations()).isEmpty();
    }

    @Test
    void aWrongResourceGroupOrSubscriptionNamesItsFlag() {
        CliRunner.Result group = run("deploy", SUB, "rg-typo", "apim-ai");
        assertThat(group.exitCode()).isEqualTo(1);
        assertThat(group.err()).contains("resource group rg-typo not found", "check --resource-group");
        CliRunner.Result sub = run("status", "00000000-0000-0000-0000-00000000000f", "rg-ai", "apim-ai");
        assertThat(sub.exitCode()).isEqualTo(1);
        assertThat(sub.err()).contains("subscription 00000000-0000-0000-0000-00000000000f not found", "check --subscription");
        assertThat(arm.resourceIds()).isEmpty();
    }

    @Test
    void aWrongApiIdIsRefusedBeforeAnyWrite() {
        CliRunner.Result r = deploy("--scope", "api:azure-openal");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("API azure-openal not found on " + SERVICE, "check --scope api:azure-openal");
        assertThat(arm.requests()).allSatisfy(q -> assertThat(q.method()).isEqualTo("GET"));
        CliRunner.Result ok = deploy("--scope", "api:azure-openai");
        assertThat(ok.exitCode()).as(ok.err()).isZero();
        assertThat(arm.violations()).isEmpty();
    }
}
