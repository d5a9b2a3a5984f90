package dev.tokenmeter.cli.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenmeter.cli.CliRunner;
import dev.tokenmeter.cli.MonoGate;
import dev.tokenmeter.testkit.ProjectFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** policy test: users' scenario files run against the policy set with the real expressions. */
class PolicyTestCommandTest {

    static final Path ROOT = ProjectFiles.root();
    static final Path SAMPLES = ROOT.resolve("samples/policy-tests");
    static final String POLICIES = ROOT.resolve("policies").toString();

    @TempDir
    Path tmp;

    CliRunner.Result test(String... args) {
        String[] all = new String[args.length + 4];
        all[0] = "policy";
        all[1] = "test";
        all[2] = "--dir";
        all[3] = POLICIES;
        System.arraycopy(args, 0, all, 4, args.length);
        return new CliRunner().run(all);
    }

    @Test
    void theSamplesPassAgainstTheShippedSet() {
        MonoGate.require();
        CliRunner.Result r = test(SAMPLES.toString());
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        assertThat(r.out().lines().toList()).hasSize(7)
                .contains("PASS " + SAMPLES.resolve("chat.yaml") + ": a chat completion is billed to the token's user from the response's usage",
                        "PASS " + SAMPLES.resolve("streamed-chat.yaml") + ": a streamed chat asks for usage and is recorded as an estimate the LLM log will make exact",
                        "PASS " + SAMPLES.resolve("denials.yaml") + ": a request nobody can be billed for is a 401 without a record",
                        "PASS " + SAMPLES.resolve("denials.yaml") + ": a user whose allowance is used up gets a 429 until the period resets")
                .last().isEqualTo("6 scenario(s): 6 passed, 0 failed.");
    }

    /** The sample chat with two wrong expectations: the line names both, with what was expected and what came. */
    @Test
    void aFailingScenarioSaysWhatDifferedAndExitsOne() throws Exception {
        MonoGate.require();
        copySamplesTo(tmp);
        Path chat = tmp.resolve("chat.yaml");
        Files.writeString(chat, Files.readString(chat).replace("        prompt_tokens: 41\n", "        prompt_tokens: 40\n")
                .replace("        x-tokenmeter-entitlement: allowed\n", "        x-tokenmeter-entitlement: allowed\n        x-not-sent: \"1\"\n"));

        CliRunner.Result r = test(chat.toString());

        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.out().lines().toList()).containsExactly(
                "FAIL " + chat + ": a chat completion is billed to the token's user from the response's usage: "
                        + "headers.x-not-sent: expected \"1\", got absent; usage-record.prompt_tokens: expected 40, got 41",
                "PASS " + chat + ": a backend error is recorded with zero tokens",
                "2 scenario(s): 1 passed, 1 failed.");

        CliRunner.Result json = test(chat.toString(), "-o", "json");
        assertThat(json.exitCode()).isEqualTo(1);
        JsonNode report = new ObjectMapper().readTree(json.out());
        assertThat(report.path("failed").asInt()).isEqualTo(1);
        JsonNode failed = report.path("results").get(0);
        assertThat(failed.path("passed").asBoolean()).isFalse();
        assertThat(failed.path("differences").get(1).path("field").asText()).isEqualTo("usage-record.prompt_tokens");
        assertThat(failed.path("differences").get(1).path("expected").asText()).isEqualTo("40");
        assertThat(failed.path("differences").get(1).path("actual").asText()).isEqualTo("41");
    }

    @Test
    void aSendRequestWithoutAnAnswerFailsTheScenarioNamingIt() throws Exception {
        MonoGate.require();
        Files.writeString(tmp.resolve("no-answer.yaml"), """
                scenarios:
                  - name: nobody answers the entitlement check
                    request:
                      path: /openai/deployments/gpt-4o/embeddings?api-version=2024-10-21
                      headers: {Content-Type: application/json}
                      body: {input: hello}
                    identity: {subscription: {id: team-a}}
                    expect: {status: 200}
                """);
        CliRunner.Result r = test(tmp.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.out()).contains("FAIL " + tmp.resolve("no-answer.yaml") + ": nobody answers the entitlement check: could not run: "
                + "send-request GET https://openmeter.cloud/api/v2/customers/team-a/entitlements/tokenmeter_tokens/value has no answer");
    }

    @Test
    void aMalformedScenarioFileIsAUsageErrorNamingFileAndField() throws Exception {
        Path bad = tmp.resolve("bad.yaml");
        Files.writeString(bad, """
                scenarios:
                  - name: typo
                    request: {path: /openai/deployments/gpt-4o/chat/completions}
                    expect: {status: two hundred}
                """);
        CliRunner.Result r = test(bad.toString());
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err().lines().findFirst()).hasValue("error: " + bad + ": scenarios[0].expect.status: must be a whole number, was 'two hundred'");
        assertThat(r.out()).isEmpty();

        Files.writeString(bad, "scenarios:\n  - name: a\n    request: {path: /openai/x}\n    backend: {body-file: missing.json}\n    expect: {status: 200}\n");
        assertThat(test(bad.toString()).err()).startsWith("error: " + bad + ": scenarios[0].backend.body-file: cannot read missing.json (no such file)");

        Files.writeString(bad, "scenarios:\n  - name: a\n    request: {path: /openai/x}\n    expect: {staus: 200}\n");
        CliRunner.Result typo = test(bad.toString());
        assertThat(typo.exitCode()).isEqualTo(2);
        assertThat(typo.err()).startsWith("error: " + bad + ": scenarios[0].expect.staus: unknown field");

        Files.writeString(bad, "scenarios:\n  - name: a\n    request: {path: /openai/x?api-version=1, method: GET}\n");
        CliRunner.Result notYaml = test(bad.toString());
        assertThat(notYaml.exitCode()).isEqualTo(2);
        // a '?' inside {...} starts a key in YAML: the message says where
        assertThat(notYaml.err()).startsWith("error: " + bad + ": not YAML: expected ',' or '}', but got ? (line 3, column 30)");
        assertThat(test(tmp.resolve("nothing-here").toString()).err()).startsWith("error: " + tmp.resolve("nothing-here") + ": no such file or directory");
    }

    @Test
    void withoutMonoItSaysSoInOneLine() throws Exception {
        Path emptyPath = Files.createDirectory(tmp.resolve("bin"));
        CliRunner.Result r = new CliRunner().env("PATH", emptyPath.toString()).run("policy", "test", "--dir", POLICIES, SAMPLES.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err().lines().toList()).containsExactly("error: policy test needs the C# toolchain to run the policies' expressions: "
                + "mcs, mono or Newtonsoft.Json not found (install them: apt-get install -y mono-mcs libnewtonsoft-json-cil-dev)");
    }

    static void copySamplesTo(Path target) throws Exception {
        try (var files = Files.walk(SAMPLES)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Path to = target.resolve(SAMPLES.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(f, to);
                }
            }
        }
    }
}
