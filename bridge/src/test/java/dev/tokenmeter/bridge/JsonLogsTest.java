package dev.tokenmeter.bridge;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenmeter.bridge.source.testing.BridgeProcess;
import dev.tokenmeter.bridge.support.Records;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The log lines the real bridge process writes with its production configuration (--log-format json, the
 * default in containers): each one JSON object with an ISO-8601 UTC timestamp, level, logger and message; a fatal
 * error is one line carrying its exception; and no secret appears.
 */
class JsonLogsTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ISO_UTC_MILLIS = "\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z";
    /** The production logback.xml, not the tests' one-line pattern that the test class path would pick. */
    private static final List<String> PRODUCTION_LOGGING = List.of("-Dlogback.configurationFile=logback.xml");

    @TempDir
    Path dir;

    private List<JsonNode> jsonLines(String output) throws IOException {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : output.lines().toList()) {
            if (line.startsWith("{")) {
                lines.add(JSON.readTree(line));
            }
        }
        return lines;
    }

    @Test
    void everyLogLineIsJsonWithAnIsoUtcTimestampLevelLoggerAndMessage() throws Exception {
        Path log = dir.resolve("bridge.log");
        Instant before = Instant.now().minusSeconds(1);
        try (BridgeProcess bridge = BridgeProcess.start(Map.of("TOKENMETER_INPUT", Records.samples().toString(),
                "TOKENMETER_LEDGER_FILE", dir.resolve("ledger.jsonl").toString(),
                "TOKENMETER_DEAD_LETTER_DIR", dir.resolve("dead").toString(),
                "TOKENMETER_LOG_FORMAT", "json"), log, PRODUCTION_LOGGING)) {
            assertThat(bridge.awaitExit(Duration.ofSeconds(120))).as(bridge.logText()).isZero();
        }
        String output = Files.readString(log);
        List<JsonNode> lines = jsonLines(output);
        assertThat(lines).as(output).isNotEmpty();
        for (JsonNode line : lines) {
            assertThat(line.path("timestamp").asText()).as(line.toString()).matches(ISO_UTC_MILLIS);
            assertThat(Instant.parse(line.get("timestamp").asText())).isAfter(before).isBefore(Instant.now().plusSeconds(1));
            assertThat(line.path("level").asText()).isIn("TRACE", "DEBUG", "INFO", "WARN", "ERROR");
            assertThat(line.path("logger").asText()).startsWith("dev.tokenmeter.");
            assertThat(line.path("message").asText()).isNotBlank();
        }
        assertThat(lines).anySatisfy(l -> assertThat(l.get("message").asText()).startsWith("bridge starting: source "));
    }

    @Test
    void aFatalErrorIsOneJsonLineWithItsExceptionAndNoSecret() throws Exception {
        Path notADirectory = Files.writeString(dir.resolve("a-file"), "x");
        Path log = dir.resolve("bridge.log");
        try (BridgeProcess bridge = BridgeProcess.start(Map.of("TOKENMETER_INPUT", Records.samples().toString(),
                // the ledger cannot be created under a regular file: the run stops
                "TOKENMETER_LEDGER_FILE", notADirectory.resolve("ledger.jsonl").toString(),
                "TOKENMETER_DEAD_LETTER_DIR", dir.resolve("dead").toString(),
                "TOKENMETER_OPENMETER_TOKEN", "PLANTED-om-token",
                "TOKENMETER_LOG_FORMAT", "json"), log, PRODUCTION_LOGGING)) {
            assertThat(bridge.awaitExit(Duration.ofSeconds(120))).isEqualTo(ExitCodes.FAILURE);
        }
        String output = Files.readString(log);
        assertThat(output.lines().filter(l -> !l.isBlank()))
                .as("nothing but JSON lines, the stack trace inside one of them: " + output)
                .allSatisfy(l -> assertThat(l).startsWith("{").endsWith("}"));
        List<JsonNode> errors = jsonLines(output).stream().filter(l -> l.path("level").asText().equals("ERROR")).toList();
        assertThat(errors).hasSize(1);
        JsonNode fatal = errors.get(0);
        assertThat(fatal.get("timestamp").asText()).matches(ISO_UTC_MILLIS);
        assertThat(fatal.get("logger").asText()).isEqualTo(BridgeMain.class.getName());
        assertThat(fatal.get("message").asText()).startsWith("the bridge stopped: ");
        assertThat(fatal.get("exception").asText()).contains("Exception", "\n\tat ");
        assertThat(output).doesNotContain("PLANTED-om-token");
    }
}
