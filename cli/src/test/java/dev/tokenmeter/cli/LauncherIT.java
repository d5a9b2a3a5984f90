package dev.tokenmeter.cli;

import dev.tokenmeter.testkit.ProjectFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The CLI as a user runs it: the launcher script at the repository root, on the shaded jar that package built. */
class LauncherIT {

    private static final Path ROOT = ProjectFiles.root();

    record Run(int exitCode, String out, String err) {
    }

    private static Run launch(Path tmp, String... args) throws IOException, InterruptedException {
        assertThat(Path.of(System.getProperty("tokenmeter.cliJar"))).as("the shaded jar built by package").exists();
        return run(tmp, "tokenmeter", args);
    }

    private static Run run(Path tmp, String launcher, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(ROOT.resolve(launcher).toString()));
        command.addAll(List.of(args));
        Path out = tmp.resolve("out.txt");
        Path err = tmp.resolve("err.txt");
        Process p = new ProcessBuilder(command).directory(ROOT.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("launcher finished").isTrue();
        } finally {
            p.destroyForcibly();
            p.waitFor();
        }
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Test
    void helpListsTheCommandsAndExitCodes(@TempDir Path tmp) throws Exception {
        Run r = launch(tmp, "--help");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("policy", "openmeter", "usage", "generate-completion", "3  differences: drift found", "changes pending");
    }

    @Test
    void validatesTheRepositoryPolicySet(@TempDir Path tmp) throws Exception {
        Run r = launch(tmp, "policy", "validate", "policies");
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("is valid");
        // without Mono the one-line note that the expressions were not compiled, nothing else
        assertThat(r.err().lines().filter(l -> !l.startsWith("note: expressions not compiled: "))).isEmpty();
    }

    @Test
    void runsTheSampleScenarios(@TempDir Path tmp) throws Exception {
        MonoGate.require();
        Run r = launch(tmp, "policy", "test", "samples/policy-tests");
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        assertThat(r.out().lines().filter(l -> l.startsWith("PASS samples/policy-tests/"))).hasSize(6);
        assertThat(r.out()).endsWith("6 scenario(s): 6 passed, 0 failed.\n");
    }

    @Test
    void aWrongOptionIsAUsageError(@TempDir Path tmp) throws Exception {
        Run r = launch(tmp, "policy", "diff", "--no-such-option");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("Unknown option: '--no-such-option'");
    }

    @Test
    void generatesShellCompletion(@TempDir Path tmp) throws Exception {
        Run r = launch(tmp, "generate-completion");
        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("complete -F", "tokenmeter");
    }

    /** The commit the build saw: git's answer in this checkout (a clone or a worktree), or unknown without git. */
    private static String expectedCommit(Path tmp) throws IOException, InterruptedException {
        Path out = tmp.resolve("git.txt");
        try {
            Process git = new ProcessBuilder("git", "rev-parse", "--short=12", "HEAD").directory(ROOT.toFile())
                    .redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            assertThat(git.waitFor(30, TimeUnit.SECONDS)).isTrue();
            String head = Files.readString(out).strip();
            return git.exitValue() == 0 && head.matches("[0-9a-f]{12}") ? head : "unknown";
        } catch (IOException noGit) {
            return "unknown";
        }
    }

    @Test
    void bothLaunchersNameTheirVersionCommitAndPolicySet(@TempDir Path tmp) throws Exception {
        String commit = expectedCommit(tmp);
        String setVersion = dev.tokenmeter.policies.manifest.ManifestLoader.load(ROOT.resolve("policies")).version();
        Run cli = launch(tmp, "--version");
        assertThat(cli.exitCode()).as(cli.err()).isZero();
        assertThat(cli.out()).contains("tokenmeter 0.", "(commit " + commit + ")", "policy set: tokenmeter " + setVersion + " in policies");

        Path bridgeJar;
        try (var jars = Files.list(ROOT.resolve("bridge/target"))) {
            bridgeJar = jars.filter(f -> f.getFileName().toString().matches("tokenmeter-bridge-.*-all\\.jar")).findFirst().orElse(null);
        }
        assertThat(bridgeJar).as("the bridge's shaded jar, built by package in the same reactor").isNotNull();
        Run bridge = run(tmp, "tokenmeter-bridge", "--version");
        assertThat(bridge.exitCode()).as(bridge.err()).isZero();
        assertThat(bridge.out()).contains("tokenmeter-bridge 0.", "(commit " + commit + ")",
                "policy set: tokenmeter " + setVersion + " (built with it; reads usage records v1 and v2)");
    }
}
