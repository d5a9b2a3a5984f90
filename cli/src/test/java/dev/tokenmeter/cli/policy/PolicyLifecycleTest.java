package dev.tokenmeter.cli.policy;

import dev.tokenmeter.testkit.ProjectFiles;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.cli.CliRunner;
import dev.tokenmeter.testkit.ArmContractServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** deploy -> status -> diff -> drift -> diff -> deploy -> rollback -> status, against the ARM contract server. */
class PolicyLifecycleTest {

    static final String SERVICE = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-ai"
            + "/providers/Microsoft.ApiManagement/service/apim-ai";

    private final ArmContractServer arm = ArmContractServer.start();
    @TempDir
    Path tmp;

    @AfterEach
    void stop() {
        arm.close();
    }

    private CliRunner.Result run(Path set, String command, String... extra) {
        List<String> args = new ArrayList<>(List.of("policy", command, "--dir", set.toString(),
                "--subscription", "00000000-0000-0000-0000-000000000001", "--resource-group", "rg-ai",
                "--service", "apim-ai", "--arm-endpoint", arm.baseUri().toString()));
        if (command.equals("deploy") || command.equals("rollback")) {
            args.addAll(List.of("--state-dir", tmp.resolve("state").toString()));
        }
        if (!command.equals("rollback")) {
            args.addAll(List.of("--scope", "api:azure-openai"));
        }
        if (command.equals("deploy")) {
            args.addAll(List.of("--eventhub-namespace", "ehns.servicebus.windows.net", "--eventhub", "usage",
                    "--logger-identity", "11111111-2222-3333-4444-555555555555"));
        }
        args.addAll(List.of(extra));
        if (command.equals("rollback")) {
            args.remove("--dir");
            args.remove(set.toString());
        }
        return new CliRunner().run(args.toArray(String[]::new));
    }

    @Test
    void deployStatusDiffDriftDeployRollback() throws Exception {
        Path v1 = tmp.resolve("v1");
        PolicySetFixture.write(v1, "1.0.0", "<azure-openai-token-limit tokens-per-minute=\"{{tokenmeter-tokens-per-minute}}\" counter-key=\"@((string)context.Variables[\"tm-user-id\"])\" estimate-prompt-tokens=\"true\" />");

        CliRunner.Result deployed = run(v1, "deploy");
        assertThat(deployed.exitCode()).as(deployed.err()).isZero();
        assertThat(deployed.out()).contains("created fragment tm-limits", "created policy api:azure-openai",
                "created logger tokenmeter-usage", "Deployed policy set tokenmeter 1.0.0");
        assertThat(arm.properties(SERVICE + "/apis/azure-openai/policies/policy")).get()
                .extracting(p -> p.get("value").asText()).asString().contains("include-fragment fragment-id=\"tm-limits\"");

        int requestsBefore = arm.requests().size();
        CliRunner.Result again = run(v1, "deploy");
        assertThat(again.exitCode()).isZero();
        assertThat(again.out()).contains("Nothing to change");
        assertThat(arm.requests().subList(requestsBefore, arm.requests().size()))
                .allSatisfy(r -> assertThat(r.method()).isEqualTo("GET"));

        CliRunner.Result status = run(v1, "status");
        assertThat(status.exitCode()).isZero();
        assertThat(status.out()).contains("Deployed version: tokenmeter 1.0.0", "(matches)");

        assertThat(run(v1, "diff").exitCode()).isZero();

        ObjectNode drifted = arm.properties(SERVICE + "/policyFragments/tm-limits").orElseThrow();
        drifted.put("value", drifted.get("value").asText().replace("estimate-prompt-tokens=\"true\"",
                "estimate-prompt-tokens=\"false\""));
        arm.changeOnServer(SERVICE + "/policyFragments/tm-limits", drifted);

        CliRunner.Result drift = run(v1, "diff");
        assertThat(drift.exitCode()).isEqualTo(3);
        assertThat(drift.out()).contains("--- deployed/fragment tm-limits", "+++ local/fragment tm-limits",
                "-\t<azure-openai-token-limit".strip().substring(0, 1), "estimate-prompt-tokens=\"false\"", "Drift: 1 of");

        Path v2 = tmp.resolve("v2");
        PolicySetFixture.write(v2, "1.1.0", "<azure-openai-token-limit tokens-per-minute=\"{{tokenmeter-tokens-per-minute}}\" counter-key=\"@((string)context.Variables[\"tm-user-id\"])\" estimate-prompt-tokens=\"true\" remaining-tokens-header-name=\"x-remaining\" />");
        CliRunner.Result upgrade = run(v2, "deploy");
        assertThat(upgrade.exitCode()).as(upgrade.err()).isZero();
        assertThat(upgrade.out()).contains("updated fragment tm-limits", "updated named value tokenmeter-policy-set-version");
        assertThat(run(v2, "status").out()).contains("Deployed version: tokenmeter 1.1.0");

        CliRunner.Result rollback = run(v2, "rollback");
        assertThat(rollback.exitCode()).as(rollback.err()).isZero();
        assertThat(rollback.out()).contains("restored  fragment tm-limits", "policy set version 1.0.0");

        CliRunner.Result after = run(v1, "status");
        assertThat(after.out()).contains("Deployed version: tokenmeter 1.0.0");
        // the rollback restores what the upgrade replaced: the fragment as it had drifted
        assertThat(arm.properties(SERVICE + "/policyFragments/tm-limits").orElseThrow().get("value").asText())
                .contains("estimate-prompt-tokens=\"false\"");
        // one step further back: the fragment the first deployment created was changed on the server since, so
        // rollback will not delete it unasked; with --force it goes back to before the first deployment
        CliRunner.Result refused = run(v2, "rollback");
        assertThat(refused.exitCode()).isEqualTo(1);
        assertThat(refused.err()).contains("rollback refused", "fragment tm-limits (content changed)", "--force");
        assertThat(run(v2, "rollback", "--force").out()).contains("deleted   policy api:azure-openai", "its state before the policy set");
        assertThat(arm.resourceIds()).isEmpty();
        assertThat(run(v2, "rollback").err()).contains("no deployment to roll back");

        assertThat(arm.violations()).isEmpty();
    }

    @Test
    void deploysThePolicyAtSeveralScopes() throws Exception {
        Path v1 = tmp.resolve("v1");
        PolicySetFixture.write(v1, "1.0.0", PolicySetFixture.NO_LIMITS);
        CliRunner.Result r = run(v1, "deploy", "--scope", "product:starter", "--scope", "operation:azure-openai/chat");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(arm.resourceIds()).contains(SERVICE + "/apis/azure-openai/policies/policy",
                SERVICE + "/products/starter/policies/policy", SERVICE + "/apis/azure-openai/operations/chat/policies/policy");
        CliRunner.Result status = run(v1, "status", "--scope", "product:starter", "--scope", "operation:azure-openai/chat");
        assertThat(status.out()).contains("Scopes:           api:azure-openai, product:starter, operation:azure-openai/chat",
                "policy product:starter", "policy operation:azure-openai/chat");
        assertThat(arm.violations()).isEmpty();
    }

    @Test
    void dryRunPrintsThePlanAndWritesNothing() throws Exception {
        Path v1 = tmp.resolve("v1");
        PolicySetFixture.write(v1, "1.0.0", PolicySetFixture.NO_LIMITS);
        CliRunner.Result plan = run(v1, "deploy", "--dry-run");
        assertThat(plan.exitCode()).as(plan.err()).isEqualTo(3);
        assertThat(plan.out()).contains("create    fragment tm-identity", "create    policy api:azure-openai",
                "Dry run: nothing was changed; 6 changes pending.");
        assertThat(arm.resourceIds()).isEmpty();
        assertThat(arm.violations()).isEmpty();
    }

    @Test
    void refusesToDeployWithoutTheLoggerThePoliciesWriteTo() throws Exception {
        Path v1 = tmp.resolve("v1");
        PolicySetFixture.write(v1, "1.0.0", PolicySetFixture.NO_LIMITS);
        CliRunner.Result r = new CliRunner().run("policy", "deploy", "--dir", v1.toString(), "--subscription", "s1",
                "--resource-group", "rg", "--service", "apim", "--arm-endpoint", arm.baseUri().toString(),
                "--state-dir", tmp.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("logger tokenmeter-usage does not exist", "--eventhub");
        assertThat(arm.resourceIds()).isEmpty();
    }

    @Test
    void deploysTheRepositoryPolicySetAsTheContractAllows() {
        Path repoSet = ProjectFiles.root().resolve("policies");
        CliRunner.Result r = run(repoSet, "deploy", "--allow-placeholders");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(arm.violations()).isEmpty();
        assertThat(run(repoSet, "diff").exitCode()).isZero();
    }
}
