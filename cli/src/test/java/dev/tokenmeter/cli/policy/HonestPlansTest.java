package dev.tokenmeter.cli.policy;

import dev.tokenmeter.cli.CliRunner;
import dev.tokenmeter.cli.Terminal;
import dev.tokenmeter.testkit.ArmContractServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Dry runs show what would change, secrets masked, with an exit code for scripts; a person at a terminal is asked first. */
class HonestPlansTest {

    private static final String SERVICE = "/subscriptions/sub1/resourceGroups/rg/providers/Microsoft.ApiManagement/service/apim";
    private static final String SECRET = "om-token-7c1e9f2a";
    private static final String ROTATED = "om-token-rotated-55d0";

    private final ArmContractServer arm = ArmContractServer.start();
    @TempDir
    Path tmp;

    @AfterEach
    void stop() {
        arm.close();
    }

    /** A terminal that answers with the given line and remembers what it was asked. */
    static final class ScriptedTerminal implements Terminal {
        final List<String> questions = new ArrayList<>();
        private final String answer;

        ScriptedTerminal(String answer) {
            this.answer = answer;
        }

        @Override
        public boolean interactive() {
            return true;
        }

        @Override
        public String ask(String question) {
            questions.add(question);
            return answer;
        }
    }

    private Path set() throws Exception {
        Path set = tmp.resolve("set");
        if (!Files.exists(set)) {
            PolicySetFixture.write(set, "1.0.0", PolicySetFixture.NO_LIMITS);
            Path manifest = set.resolve("policy-set.json");
            Files.writeString(manifest, Files.readString(manifest).replace("\"namedValues\": [", "\"namedValues\": [\n"
                    + "    {\"name\": \"tokenmeter-openmeter-token\", \"meaning\": \"token\", \"default\": \"replace-with-token\", \"secret\": true},"));
        }
        return set;
    }

    private CliRunner.Result run(CliRunner runner, String command, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("policy", command, "--subscription", "sub1", "--resource-group", "rg",
                "--service", "apim", "--arm-endpoint", arm.baseUri().toString()));
        if (!command.equals("rollback")) {
            args.addAll(List.of("--dir", set().toString(), "--scope", "api:azure-openai"));
        }
        if (command.equals("deploy")) {
            args.addAll(List.of("--eventhub", "usage", "--eventhub-namespace", "ehns.servicebus.windows.net"));
        }
        args.addAll(List.of(extra));
        return runner.env("TOKENMETER_STATE_DIR", tmp.resolve("state").toString()).run(args.toArray(String[]::new));
    }

    private CliRunner.Result run(String command, String... extra) throws Exception {
        return run(new CliRunner(), command, extra);
    }

    @Test
    void dryRunShowsEachChangeAsADiffWithSecretsMaskedAndExitsThreeWhileChangesArePending() throws Exception {
        CliRunner.Result plan = run("deploy", "--set", "tokenmeter-openmeter-token=" + SECRET, "--dry-run");
        assertThat(plan.exitCode()).as(plan.err()).isEqualTo(3);
        assertThat(plan.out()).contains("create    fragment tm-limits", "+++ local/fragment tm-limits",
                "+<set-variable name=\"tm-limit\" value=\"none\" />", "+++ local/named value tokenmeter-tokens-per-minute",
                "+value: 10000", "Dry run: nothing was changed; 7 changes pending.");
        assertThat(arm.resourceIds()).isEmpty();

        assertThat(run("deploy", "--set", "tokenmeter-openmeter-token=" + SECRET).exitCode()).isZero();
        CliRunner.Result inSync = run("deploy", "--set", "tokenmeter-openmeter-token=" + SECRET, "--dry-run");
        assertThat(inSync.exitCode()).as(inSync.out()).isZero();
        assertThat(inSync.out()).contains("Nothing to change");

        // a rotated secret is a pending change the plan names, without either value
        CliRunner.Result rotated = run("deploy", "--set", "tokenmeter-openmeter-token=" + ROTATED, "--dry-run");
        assertThat(rotated.exitCode()).isEqualTo(3);
        assertThat(rotated.out()).contains("update    named value tokenmeter-openmeter-token",
                "-secret: (deployed value, not shown)", "+secret: (new value, not shown)");
        CliRunner.Result diff = run("diff", "--set", "tokenmeter-openmeter-token=" + ROTATED);
        assertThat(diff.exitCode()).isEqualTo(3);
        assertThat(diff.out()).contains("+secret: (new value, not shown)");
        CliRunner.Result json = run("deploy", "--set", "tokenmeter-openmeter-token=" + ROTATED, "--dry-run", "-o", "json");
        assertThat(json.exitCode()).isEqualTo(3);
        assertThat(json.out()).contains("\"diff\"", "(new value, not shown)");
        assertThat(Stream.of(plan, inSync, rotated, diff, json).map(r -> r.out() + r.err()))
                .allSatisfy(text -> assertThat(text).doesNotContain(SECRET).doesNotContain(ROTATED));
        assertThat(arm.violations()).isEmpty();
    }

    @Test
    void atATerminalDeployShowsThePlanAndChangesNothingUnlessConfirmed() throws Exception {
        ScriptedTerminal declines = new ScriptedTerminal("n");
        CliRunner.Result declined = run(new CliRunner().terminal(declines), "deploy", "--allow-placeholders");
        assertThat(declined.exitCode()).isEqualTo(1);
        assertThat(declines.questions).singleElement().asString().contains("Apply", "apim", "[y/N]");
        assertThat(declined.out()).contains("+++ local/fragment tm-identity");
        assertThat(declined.err()).contains("cancelled: nothing was changed");
        assertThat(arm.resourceIds()).isEmpty();

        ScriptedTerminal accepts = new ScriptedTerminal("yes");
        CliRunner.Result accepted = run(new CliRunner().terminal(accepts), "deploy", "--allow-placeholders");
        assertThat(accepted.exitCode()).as(accepted.err()).isZero();
        assertThat(accepts.questions).hasSize(1);
        assertThat(arm.resourceIds()).contains(SERVICE + "/apis/azure-openai/policies/policy");

        ScriptedTerminal rollbackDeclined = new ScriptedTerminal("");
        CliRunner.Result keep = run(new CliRunner().terminal(rollbackDeclined), "rollback");
        assertThat(keep.exitCode()).isEqualTo(1);
        assertThat(rollbackDeclined.questions).singleElement().asString().contains("Roll back", "[y/N]");
        assertThat(arm.resourceIds()).contains(SERVICE + "/apis/azure-openai/policies/policy");

        ScriptedTerminal neverAsked = new ScriptedTerminal("n");
        CliRunner.Result yes = run(new CliRunner().terminal(neverAsked), "rollback", "--yes");
        assertThat(yes.exitCode()).as(yes.err()).isZero();
        assertThat(neverAsked.questions).isEmpty();
        assertThat(arm.resourceIds()).isEmpty();
        assertThat(arm.violations()).isEmpty();
    }

    @Test
    void withoutATerminalNothingIsAsked() throws Exception {
        CliRunner.Result r = run("deploy", "--allow-placeholders");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).doesNotContain("[y/N]");
        assertThat(run("rollback").exitCode()).isZero();
        assertThat(arm.resourceIds()).isEmpty();
    }
}
