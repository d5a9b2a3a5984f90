package dev.tokenmeter.cli.replay;

import dev.tokenmeter.testkit.ProjectFiles;
import dev.tokenmeter.cli.CliRunner;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** replay feeds JSONL through the bridge core to OpenMeter, whose contract server checks every event. */
class ReplayTest {

    private static final Path SAMPLES = ProjectFiles.root().resolve("samples/usage-records");

    private final OpenMeterContractServer openmeter = OpenMeterContractServer.start();
    @TempDir
    Path tmp;

    @AfterEach
    void stop() {
        openmeter.close();
    }

    private CliRunner.Result replay(String... args) {
        String[] all = new String[args.length + 4];
        all[0] = "replay";
        System.arraycopy(args, 0, all, 1, args.length);
        all[args.length + 1] = "--dead-letter-dir=" + tmp.resolve("dead");
        all[args.length + 2] = "--openmeter-url=" + openmeter.baseUri();
        all[args.length + 3] = "--timeout=PT30S";
        return new CliRunner().env("TOKENMETER_OPENMETER_TOKEN", "om-token").run(all);
    }

    @Test
    void replaysTheValidSamplesAsRequestEvents() throws Exception {
        Path valid = SAMPLES.resolve("valid");
        long lines = Files.readAllLines(valid.resolve("2026-11-27-contoso-apim.jsonl")).stream().filter(l -> !l.isBlank()).count();
        CliRunner.Result r = replay(valid.toString());
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        assertThat(openmeter.ingestedEvents()).hasSize((int) lines)
                .allSatisfy(e -> assertThat(e.get("type").asText()).isEqualTo("tokens"));
        assertThat(r.out()).contains("Replayed " + lines + " records", lines + " delivered", "USER", "gpt-4o");
        assertThat(r.out() + r.err()).doesNotContain("om-token");
        assertThat(openmeter.violations()).isEmpty();
    }

    @Test
    void withTheLlmLogExportStreamedRecordsGoToOpenMeterWithTheirExactCounts() {
        CliRunner.Result r = replay(SAMPLES.resolve("valid").toString(), "--llm-logs",
                SAMPLES.resolveSibling("llm-logs").toString());
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("12 delivered (2 with exact counts from the LLM log, 0 estimated)");
        var joined = openmeter.ingestedEvents().stream()
                .filter(e -> e.get("id").asText().equals("c7d8e9f0-a1b2-4c3d-8e5f-6a7b8c9d0eaa")).findFirst().orElseThrow();
        assertThat(joined.get("data").get("usage_source").asText()).isEqualTo("joined");
        assertThat(joined.get("data").get("completion_tokens").asLong()).isEqualTo(388);
        assertThat(openmeter.violations()).isEmpty();
    }

    @Test
    void replaysTheOriginalRecordsOfDeadLetters() throws Exception {
        List<String> records = Files.readAllLines(SAMPLES.resolve("valid/2026-11-27-contoso-apim.jsonl")).subList(0, 2);
        StringBuilder deadLetters = new StringBuilder();
        for (String record : records) {
            deadLetters.append("{\"at\":\"2026-11-27T09:00:00Z\",\"reason\":\"rejected_by_sink\",\"detail\":\"OpenMeter down\","
                    + "\"partition\":\"0\",\"position\":\"12\",\"original_base64\":\"")
                    .append(Base64.getEncoder().encodeToString(record.getBytes(StandardCharsets.UTF_8))).append("\"}\n");
        }
        Path file = tmp.resolve("dead-letters-2026-11-27.jsonl");
        Files.writeString(file, deadLetters);
        CliRunner.Result r = replay(file.toString(), "--mapping", "per-token-type");
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("Replayed 2 records", "2 taken from dead letters", "2 delivered");
        assertThat(openmeter.ingestedEvents()).isNotEmpty()
                .allSatisfy(e -> assertThat(e.get("data").has("tokens")).isTrue());
        assertThat(openmeter.violations()).isEmpty();
    }

    @Test
    void invalidRecordsAreDeadLetteredAgainAndFailTheRun() {
        CliRunner.Result r = replay(SAMPLES.resolve("invalid/missing-user-id.jsonl").toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.out()).contains("dead-lettered again");
        assertThat(r.err()).contains("could not be delivered", tmp.resolve("dead").toString());
        assertThat(openmeter.ingestedEvents()).isEmpty();
    }

    @Test
    void aMissingInputSaysSo() {
        CliRunner.Result r = replay(tmp.resolve("nope.jsonl").toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("does not exist");
    }
}
