package dev.tokenmeter.cli.policy;

import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.BlobServiceClientBuilder;
import com.azure.storage.blob.models.BlobItem;
import com.azure.storage.blob.sas.BlobContainerSasPermission;
import com.azure.storage.blob.sas.BlobServiceSasSignatureValues;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.cli.CliRunner;
import dev.tokenmeter.testkit.ArmContractServer;
import dev.tokenmeter.testkit.Azurite;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Rollback never overwrites an unseen change, never rolls back to a failed attempt, and works from anywhere the snapshots are. */
class RollbackSafetyTest {

    private static final String SERVICE = "/subscriptions/sub1/resourceGroups/rg/providers/Microsoft.ApiManagement/service/apim";
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final ArmContractServer arm = ArmContractServer.start();
    @TempDir
    Path tmp;

    @AfterEach
    void stop() {
        arm.close();
    }

    private Path set(String version, String limits) throws Exception {
        Path set = tmp.resolve("set-" + version);
        PolicySetFixture.write(set, version, limits);
        return set;
    }

    private CliRunner.Result run(CliRunner runner, Path set, String command, String... extra) {
        List<String> args = new ArrayList<>(List.of("policy", command, "--subscription", "sub1", "--resource-group", "rg",
                "--service", "apim", "--arm-endpoint", arm.baseUri().toString()));
        if (command.equals("deploy")) {
            args.addAll(List.of("--dir", set.toString(), "--scope", "api:azure-openai", "--eventhub", "usage",
                    "--eventhub-namespace", "ehns.servicebus.windows.net"));
        }
        args.addAll(List.of(extra));
        return runner.run(args.toArray(String[]::new));
    }

    private CliRunner.Result run(Path set, String command, String... extra) {
        return run(new CliRunner(), set, command, Stream.concat(Stream.of(extra),
                Stream.of("--snapshots", tmp.resolve("snapshots").toString())).toArray(String[]::new));
    }

    @Test
    void refusesToOverwriteWhatChangedSinceTheDeploymentNamingEachUnlessForced() throws Exception {
        assertThat(run(set("1.0.0", PolicySetFixture.NO_LIMITS), "deploy").exitCode()).isZero();
        assertThat(run(set("1.1.0", "<set-variable name=\"tm-limit\" value=\"v2\" />"), "deploy").exitCode()).isZero();
        // after the upgrade, someone edits a fragment it wrote in the portal
        ObjectNode identity = arm.properties(SERVICE + "/policyFragments/tm-identity").orElseThrow();
        arm.changeOnServer(SERVICE + "/policyFragments/tm-identity",
                identity.put("value", identity.get("value").asText().replace("anonymous", "nobody")));
        ObjectNode limits = arm.properties(SERVICE + "/policyFragments/tm-limits").orElseThrow();
        // the same content saved again: a new ETag, but no change rollback would lose
        arm.changeOnServer(SERVICE + "/policyFragments/tm-limits", limits);
        String identityBefore = arm.properties(SERVICE + "/policyFragments/tm-identity").orElseThrow().toString();
        int writesBefore = writes();

        CliRunner.Result refused = run(null, "rollback");
        assertThat(refused.exitCode()).isEqualTo(1);
        assertThat(refused.err()).contains("rollback refused: 1 resource(s) changed since the deployment of",
                "fragment tm-identity (content changed)", "--force").doesNotContain("tm-limits");
        assertThat(writes()).isEqualTo(writesBefore);
        assertThat(arm.properties(SERVICE + "/policyFragments/tm-identity").orElseThrow().toString()).isEqualTo(identityBefore);

        CliRunner.Result plan = run(null, "rollback", "--force", "--dry-run");
        assertThat(plan.exitCode()).as("changes pending").isEqualTo(3);
        assertThat(plan.out()).contains("restore   fragment tm-identity", "restore   fragment tm-limits", "Dry run: nothing was changed.");
        assertThat(writes()).isEqualTo(writesBefore);

        CliRunner.Result forced = run(null, "rollback", "--force");
        assertThat(forced.exitCode()).as(forced.err()).isZero();
        assertThat(forced.out()).contains("restored  fragment tm-limits", "Rolled back", "policy set version 1.0.0");
        assertThat(arm.properties(SERVICE + "/policyFragments/tm-limits").orElseThrow().get("value").asText()).contains("none");
        assertThat(arm.violations()).isEmpty();
    }

    @Test
    void aDeletedResourceIsAChangeToo() throws Exception {
        assertThat(run(set("1.0.0", PolicySetFixture.NO_LIMITS), "deploy").exitCode()).isZero();
        // someone deleted the named value in the portal (the contract server answers its reads as ARM would then)
        arm.inject(ArmContractServer.Fault.of("GET", "/namedValues/tokenmeter-tokens-per-minute$", 404, "ResourceNotFound", 100));
        CliRunner.Result refused = run(null, "rollback");
        assertThat(refused.exitCode()).isEqualTo(1);
        assertThat(refused.err()).contains("named value tokenmeter-tokens-per-minute (deleted since)");
        assertThat(arm.resourceIds()).contains(SERVICE + "/apis/azure-openai/policies/policy");
    }

    @Test
    void aFailedDeployIsRecordedAsSuchAndNeverTakenAsTheDeploymentToRollBack() throws Exception {
        assertThat(run(set("1.0.0", PolicySetFixture.NO_LIMITS), "deploy").exitCode()).isZero();
        arm.inject(ArmContractServer.Fault.of("PUT", "/policyFragments/tm-limits$", 400, "ValidationError", 1));
        CliRunner.Result failed = run(set("1.1.0", "<set-variable name=\"tm-limit\" value=\"v2\" />"), "deploy");
        assertThat(failed.exitCode()).isEqualTo(1);
        assertThat(failed.err()).contains("recorded as failed");

        List<Path> attempts;
        try (Stream<Path> files = Files.walk(tmp.resolve("snapshots"))) {
            attempts = files.filter(f -> f.toString().endsWith(".json")).sorted().toList();
        }
        assertThat(attempts).hasSize(2);
        assertThat(MAPPER.readTree(attempts.get(0).toFile()).get("status").asText()).isEqualTo("completed");
        assertThat(MAPPER.readTree(attempts.get(1).toFile()).get("status").asText()).isEqualTo("failed");

        // the last completed deployment is 1.0.0's; the failed attempt's writes are changes since then
        CliRunner.Result refused = run(null, "rollback");
        assertThat(refused.exitCode()).isEqualTo(1);
        assertThat(refused.err()).contains("fragment tm-identity (content changed)",
                "named value tokenmeter-policy-set-version (content changed)", "the failed deploy attempt of",
                "applied 2 change(s)").doesNotContain("tm-limits (");
        CliRunner.Result forced = run(null, "rollback", "--force");
        assertThat(forced.exitCode()).as(forced.err()).isZero();
        assertThat(forced.out()).contains("Rolling back the deployment of", "(version 1.0.0 -> none)", "its state before the policy set");
        assertThat(arm.resourceIds()).isEmpty();
        assertThat(arm.violations()).isEmpty();
    }

    @Test
    void aColleagueRollsBackFromTheSnapshotFolderNamedInTheEnvironmentFile() throws Exception {
        Path envs = tmp.resolve("repo/environments");
        Files.createDirectories(envs);
        Files.writeString(envs.resolve("dev.yaml"), """
                subscription: sub1
                resourceGroup: rg
                service: apim
                scopes: [api:azure-openai]
                logger: {eventHubNamespace: ehns.servicebus.windows.net, eventHub: usage}
                snapshots: ../../share/tokenmeter
                """);
        Path v1 = set("1.0.0", PolicySetFixture.NO_LIMITS);
        CliRunner.Result deployed = new CliRunner().run("policy", "deploy", "--env", envs.resolve("dev.yaml").toString(),
                "--dir", v1.toString(), "--arm-endpoint", arm.baseUri().toString());
        assertThat(deployed.exitCode()).as(deployed.err()).isZero();
        assertThat(deployed.out()).contains(tmp.resolve("share/tokenmeter/deployments").toString());

        // someone else, with only the share: --snapshots names it
        CliRunner.Result rolledBack = run(new CliRunner(), null, "rollback", "--snapshots", tmp.resolve("share/tokenmeter").toString());
        assertThat(rolledBack.exitCode()).as(rolledBack.err()).isZero();
        assertThat(arm.resourceIds()).isEmpty();
    }

    @Test
    void snapshotsInABlobContainerLetCiRollBackADeployMadeElsewhere() throws Exception {
        try (Azurite azurite = Azurite.start()) {
            BlobContainerClient container = new BlobServiceClientBuilder().connectionString(azurite.connectionString())
                    .buildClient().createBlobContainer("tokenmeter-snapshots");
            String sas = container.generateSas(new BlobServiceSasSignatureValues(OffsetDateTime.now().plusHours(1),
                    BlobContainerSasPermission.parse("rwdl")));
            String url = azurite.blobEndpoint() + "/tokenmeter-snapshots/team-a";

            CliRunner.Result deployed = run(new CliRunner().env("TOKENMETER_SNAPSHOTS_SAS", sas),
                    set("1.0.0", PolicySetFixture.NO_LIMITS), "deploy", "--snapshots", url);
            assertThat(deployed.exitCode()).as(deployed.err()).isZero();
            assertThat(deployed.out()).contains("Previous state saved for rollback in " + url + "/deployments/apim-");
            List<String> blobs = container.listBlobs().stream().map(BlobItem::getName).toList();
            assertThat(blobs).singleElement().asString().startsWith("team-a/deployments/apim-").endsWith("Z.json");
            assertThat(MAPPER.readTree(container.getBlobClient(blobs.get(0)).downloadContent().toString())
                    .get("status").asText()).isEqualTo("completed");

            // CI, elsewhere, with the same URL
            CliRunner.Result rolledBack = run(new CliRunner().env("TOKENMETER_SNAPSHOTS_SAS", sas), null, "rollback",
                    "--snapshots", url);
            assertThat(rolledBack.exitCode()).as(rolledBack.err()).isZero();
            assertThat(arm.resourceIds()).isEmpty();
            assertThat(MAPPER.readTree(container.getBlobClient(blobs.get(0)).downloadContent().toString())
                    .get("status").asText()).isEqualTo("rolled-back");
            assertThat(run(new CliRunner().env("TOKENMETER_SNAPSHOTS_SAS", sas), null, "rollback", "--snapshots", url).err())
                    .contains("no deployment to roll back");

            // the SAS is for the snapshot container only: another one is refused, said in one line, the SAS unshown
            CliRunner.Result noContainer = run(new CliRunner().env("TOKENMETER_SNAPSHOTS_SAS", sas),
                    set("1.0.1", PolicySetFixture.NO_LIMITS), "deploy", "--snapshots", azurite.blobEndpoint() + "/no-such-container");
            assertThat(noContainer.exitCode()).isEqualTo(1);
            assertThat(noContainer.err()).contains("cannot write the rollback snapshots at " + azurite.blobEndpoint()
                    + "/no-such-container/deployments/", "HTTP 403", "TOKENMETER_SNAPSHOTS_SAS").doesNotContain(sas);
            assertThat(noContainer.err().lines().count()).isEqualTo(1);

            CliRunner.Result sasInUrl = run(new CliRunner(), null, "rollback", "--snapshots", url + "?" + sas);
            assertThat(sasInUrl.exitCode()).isEqualTo(1);
            assertThat(sasInUrl.err()).contains("TOKENMETER_SNAPSHOTS_SAS");
            assertThat(Stream.of(deployed, rolledBack, sasInUrl).map(r -> r.out() + r.err()))
                    .allSatisfy(text -> assertThat(text).doesNotContain(sas));
            assertThat(arm.violations()).isEmpty();
        }
    }

    private int writes() {
        return (int) arm.requests().stream().filter(r -> !r.method().equals("GET")).count();
    }
}
