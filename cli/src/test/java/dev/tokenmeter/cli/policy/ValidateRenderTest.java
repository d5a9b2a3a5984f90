package dev.tokenmeter.cli.policy;

import dev.tokenmeter.testkit.ProjectFiles;
import dev.tokenmeter.cli.CliRunner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** validate and render are the policies module's validator and renderer behind the command line. */
class ValidateRenderTest {

    private static final Path REPO_SET = ProjectFiles.root().resolve("policies");

    @Test
    void theRepositorySetIsValid() {
        CliRunner.Result r = new CliRunner().run("policy", "validate", REPO_SET.toString());
        assertThat(r.exitCode()).as(r.out()).isZero();
        assertThat(r.out()).contains("is valid");
    }

    @Test
    void theTestFixtureIsAValidSet(@TempDir Path tmp) throws Exception {
        PolicySetFixture.write(tmp, "1.0.0", PolicySetFixture.NO_LIMITS);
        CliRunner.Result r = new CliRunner().run("policy", "validate", tmp.toString());
        assertThat(r.exitCode()).as(r.out()).isZero();
    }

    @Test
    void findingsFailWithFileLineAndFix(@TempDir Path tmp) throws Exception {
        PolicySetFixture.write(tmp, "1.0.0", PolicySetFixture.NO_LIMITS);
        Files.delete(tmp.resolve("fragments/tm-limits.xml"));
        CliRunner.Result r = new CliRunner().run("policy", "validate", tmp.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.out()).contains("Fix:", "problem(s)");
        CliRunner.Result json = new CliRunner().run("policy", "validate", tmp.toString(), "-o", "json");
        assertThat(json.out()).contains("\"passed\" : false", "\"rule\"");
    }

    @Test
    void rendersTheEffectivePolicy() {
        CliRunner.Result r = new CliRunner().env("TOKENMETER_POLICY_DIR", REPO_SET.toString()).run("policy", "render");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("<policies>", "azure-openai-token-limit", "{{tokenmeter-tokens-per-minute}}")
                .doesNotContain("include-fragment");
        CliRunner.Result withDefaults = new CliRunner().run("policy", "render", REPO_SET.toString(), "--with-defaults",
                "--set", "tokenmeter-tokens-per-minute=2500");
        assertThat(withDefaults.out()).contains("tokens-per-minute=\"2500\"").doesNotContain("{{tokenmeter-tokens-per-minute}}");
    }
}
