package dev.tokenmeter.bridge;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenmeter.bridge.support.Records;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The bridge run as a user runs it: the samples through the file source, to a ledger or to OpenMeter. */
class BridgeMainTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return BridgeMain.run(args, new ByteArrayInputStream(new byte[0]), new PrintStream(out, true),
                new PrintStream(err, true), false);
    }

    private static List<String> validSampleIds() throws IOException {
        return Files.readAllLines(Records.samples().resolve("valid/2026-11-27-contoso-apim.jsonl")).stream()
                .map(line -> {
                    try {
                        return JSON.readTree(line).get("request_id").asText();
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                }).toList();
    }

    @Test
    void theSamplesGiveAPerUserTableALedgerAndOneDeadLetterPerInvalidFile(@TempDir Path dir) throws IOException {
        Path ledger = dir.resolve("ledger.jsonl");
        Path deadLetters = dir.resolve("dead");
        int exit = run(Records.samples().toString(), "--ledger-file", ledger.toString(),
                "--dead-letter-dir", deadLetters.toString(), "--log-format", "text");

        assertThat(exit).isZero();
        String table = out.toString(StandardCharsets.UTF_8);
        assertThat(table).containsPattern("3f2b8c1e-7d6a-4e21-9b0f-5a4c3d2e1f01 +o4-mini-2025-04-16 +1 +2318 +1460 +1920 +1024 +3778");
        assertThat(table).containsPattern("batch-loader +gpt-35-turbo-instruct +1 +64 +128 +0 +0 +192");
        assertThat(table).containsPattern("TOTAL +12 +12545 +2288 +3456 +1024 +14833");
        assertThat(table).contains("records read: 26; billed: 8 exact from the response, 0 exact from the LLM log "
                + "(joined), 2 estimated, 2 without usage, 0 late corrections; dead letters: 14");

        List<String> events = Files.readAllLines(ledger);
        assertThat(events).hasSize(12);
        assertThat(events.stream().map(BridgeMainTest::id)).containsExactlyInAnyOrderElementsOf(validSampleIds());

        Map<String, JsonNode> letters = deadLettersByPartition(deadLetters);
        try (Stream<Path> invalid = Files.list(Records.samples().resolve("invalid"))) {
            for (Path file : invalid.toList()) {
                JsonNode letter = letters.get("invalid/" + file.getFileName());
                assertThat(letter).as("dead letter for " + file.getFileName()).isNotNull();
                assertThat(letter.get("reason").asText()).isEqualTo("invalid_record");
                assertThat(letter.get("detail").asText()).isNotBlank();
                byte[] original = Base64.getDecoder().decode(letter.get("original_base64").asText());
                assertThat(original).as("original bytes of " + file.getFileName())
                        .isEqualTo(withoutTrailingNewline(Files.readAllBytes(file)));
            }
        }
        assertThat(letters.get("invalid/not-utf8-bytes.jsonl").get("detail").asText()).contains("not valid UTF-8");
        assertThat(letters.get("invalid/not-utf8-bytes.jsonl").has("original_text")).isFalse();
    }

    @Test
    void withTheSampleLlmLogExportStreamedRecordsAreBilledWithTheirExactCounts(@TempDir Path dir) throws IOException {
        Path ledger = dir.resolve("ledger.jsonl");
        int exit = run("--llm-logs", Records.samples().resolveSibling("llm-logs").toString(), Records.samples().toString(),
                "--ledger-file", ledger.toString(), "--dead-letter-dir", dir.resolve("dead").toString(),
                "--log-format", "text");

        assertThat(exit).isZero();
        String table = out.toString(StandardCharsets.UTF_8);
        // the estimate said 1432 prompt tokens and no completion; the LLM log says 1432 + 388, 1024 of them cached
        assertThat(table).containsPattern("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c02 +gpt-4o-2024-08-06 +1 +1432 +388 +1024 +0 +1820");
        assertThat(table).containsPattern("TOTAL +12 +12545 +2879 +4480 +1024 +15424");
        assertThat(table).contains("billed: 8 exact from the response, 2 exact from the LLM log (joined), 0 estimated");
        assertThat(table).contains("LLM log export: 4 rows with usage for 3 requests from 4 messages (0 unreadable");

        Map<String, JsonNode> events = new java.util.HashMap<>();
        for (String line : Files.readAllLines(ledger)) {
            JsonNode event = JSON.readTree(line);
            events.put(event.get("id").asText(), event.get("data"));
        }
        assertThat(events).hasSize(12);
        JsonNode joined = events.get("c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e44");
        assertThat(joined.get("usage_source").asText()).isEqualTo("joined");
        assertThat(joined.get("prompt_tokens").asLong()).isEqualTo(517);
        assertThat(joined.get("completion_tokens").asLong()).isEqualTo(203);
        assertThat(joined.get("total_tokens").asLong()).isEqualTo(720);
        assertThat(joined.has("estimate_reason")).isFalse();
        assertThat(events.get("6f1c2a7e-4b1d-4f8e-9a51-0c2d3e4f5a61").get("usage_source").asText())
                .as("a non-streamed record keeps the counts of its own response").isEqualTo("reported");
    }

    @Test
    void withoutTheLlmLogStreamedRecordsAreBilledWithTheirEstimateAndSayWhy(@TempDir Path dir) throws IOException {
        Path ledger = dir.resolve("ledger.jsonl");
        int exit = run(Records.samples().resolve("valid").toString(), "--ledger-file", ledger.toString(),
                "--dead-letter-dir", dir.resolve("dead").toString(), "--log-format", "text");

        assertThat(exit).isZero();
        JsonNode estimated = Files.readAllLines(ledger).stream().map(BridgeMainTest::tree)
                .filter(e -> e.get("id").asText().equals("c7d8e9f0-a1b2-4c3d-8e5f-6a7b8c9d0eaa")).findFirst().orElseThrow()
                .get("data");
        assertThat(estimated.get("usage_source").asText()).isEqualTo("estimated");
        assertThat(estimated.get("estimate_reason").asText()).isEqualTo("no_llm_log");
        assertThat(estimated.get("completion_tokens").asLong()).isZero();
    }

    private static JsonNode tree(String line) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"request", "per-token-type"})
    void sendsTheSamplesToOpenMeterWithinItsContract(String mapping, @TempDir Path dir) throws IOException {
        String token = "om_test_9f8e7d6c5b4a";
        ListAppender<ILoggingEvent> logs = captureLogs();
        try (OpenMeterContractServer openMeter = OpenMeterContractServer.start()) {
            int exit = run(Records.samples().resolve("valid").toString(), "--openmeter-url", openMeter.baseUri().toString(),
                    "--openmeter-token", token, "--event-mapping", mapping, "--dead-letter-dir", dir.toString(),
                    "--batch-max-events", "5");

            assertThat(exit).isZero();
            assertThat(openMeter.violations()).isEmpty();
            assertThat(openMeter.requests()).allSatisfy(r -> {
                assertThat(r.header("Content-Type")).isEqualTo("application/cloudevents-batch+json");
                assertThat(r.header("Authorization")).isEqualTo("Bearer " + token);
            });
            Set<String> ids = openMeter.ingestedEvents().stream().map(e -> e.get("id").asText()).collect(Collectors.toSet());
            if (mapping.equals("request")) {
                assertThat(ids).containsExactlyInAnyOrderElementsOf(validSampleIds());
                JsonNode first = openMeter.ingestedEvents().stream()
                        .filter(e -> e.get("id").asText().equals("6f1c2a7e-4b1d-4f8e-9a51-0c2d3e4f5a61")).findFirst().orElseThrow();
                assertThat(first.get("source").asText()).isEqualTo("apim/contoso-apim");
                assertThat(first.get("type").asText()).isEqualTo("tokens");
                assertThat(first.get("subject").asText()).isEqualTo("3f2b8c1e-7d6a-4e21-9b0f-5a4c3d2e1f01");
                assertThat(first.get("time").asText()).isEqualTo("2026-11-27T08:01:12.347Z");
                assertThat(first.get("data").get("prompt_tokens").asLong()).isEqualTo(1210);
                assertThat(first.get("data").get("cached_tokens").asLong()).isEqualTo(1024);
            } else {
                // o4-mini record: 2318 prompt (1920 cached), 1460 completion (1024 reasoning)
                String id = "d2e3f4a5-b6c7-4d8e-9f0a-1b2c3d4e5f55";
                Map<String, Long> byType = new HashMap<>();
                openMeter.ingestedEvents().stream().filter(e -> e.get("id").asText().startsWith(id + ":"))
                        .forEach(e -> byType.put(e.get("data").get("type").asText(), e.get("data").get("tokens").asLong()));
                assertThat(byType).containsExactlyInAnyOrderEntriesOf(
                        Map.of("input", 398L, "cache_read", 1920L, "output", 436L, "reasoning", 1024L));
                assertThat(ids).contains(id + ":input", id + ":output", id + ":cache_read", id + ":reasoning");
                assertThat(ids).noneMatch(i -> i.startsWith("a5b6c7d8-e9f0-4a1b-8c3d-4e5f6a7b8c88")); // a 429 with zero tokens
            }
        } finally {
            detach(logs);
        }
        assertThat(logs.list).isNotEmpty();
        assertThat(logs.list).noneMatch(e -> e.getFormattedMessage().contains(token));
        assertThat(err.toString(StandardCharsets.UTF_8)).doesNotContain(token);
    }

    @Test
    void readsStandardInput(@TempDir Path dir) throws IOException {
        byte[] input = (new String(Records.valid(1)) + "\n" + new String(Records.valid(2)) + "\n").getBytes();
        Path ledger = dir.resolve("ledger.jsonl");
        int exit = BridgeMain.run(new String[]{"-", "--ledger-file", ledger.toString(), "--dead-letter-dir", dir.toString()},
                new ByteArrayInputStream(input), new PrintStream(out, true), new PrintStream(err, true), false);
        assertThat(exit).isZero();
        assertThat(Files.readAllLines(ledger)).hasSize(2);
    }

    @Test
    void aMissingInputIsAUsageError() {
        assertThat(run("--log-format", "text")).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("the file source needs INPUT");
    }

    private static String id(String eventJson) {
        try {
            return JSON.readTree(eventJson).get("id").asText();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<String, JsonNode> deadLettersByPartition(Path dir) throws IOException {
        Map<String, JsonNode> byPartition = new HashMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.toList()) {
                for (String line : Files.readAllLines(file)) {
                    JsonNode letter = JSON.readTree(line);
                    byPartition.put(letter.get("partition").asText(), letter);
                }
            }
        }
        return byPartition;
    }

    private static byte[] withoutTrailingNewline(byte[] bytes) {
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] == '\n') {
            end--;
        }
        return java.util.Arrays.copyOf(bytes, end);
    }

    @ParameterizedTest
    @ValueSource(strings = {"--batch-max-events=0", "--log-format=yaml", "--openmeter-url=notaurl",
            "--openmeter-url=ftp://openmeter.example", "--join=maybe", "--join-window-ms=-1"})
    void aBadSettingIsAUsageErrorOfOneLineBeforeAnythingIsRead(String bad, @TempDir Path dir) {
        long started = System.nanoTime();
        int exit = run(Records.samples().toString(), bad, "--dead-letter-dir", dir.resolve("dead").toString(),
                "--ledger-file", dir.resolve("ledger.jsonl").toString());
        assertThat(exit).isEqualTo(2);
        String message = err.toString(StandardCharsets.UTF_8);
        assertThat(message.lines()).hasSize(2);
        assertThat(message).startsWith("tokenmeter-bridge: ").contains("--help").doesNotContain("Exception", "\tat ");
        assertThat(java.time.Duration.ofNanos(System.nanoTime() - started)).as("no retrying a URL that cannot work")
                .isLessThan(java.time.Duration.ofSeconds(10));
        assertThat(dir.resolve("ledger.jsonl")).doesNotExist();
    }

    @Test
    void aMissingInputIsAUsageErrorNamingIt(@TempDir Path dir) {
        int exit = run(dir.resolve("no-such.jsonl").toString());
        assertThat(exit).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("no-such.jsonl does not exist");
    }

    @Test
    void recordsNotDeliveredByTheDeadlineBecomeDeadLettersTheRunFailsAndNoSecretIsShown(@TempDir Path dir)
            throws IOException {
        String token = "om_planted_token_5e1f";
        ListAppender<ILoggingEvent> logs = captureLogs();
        try (OpenMeterContractServer openMeter = OpenMeterContractServer.start()) {
            openMeter.route("POST", "/api/v1/events", request -> OpenMeterContractServer.Reply.of(503));
            String url = openMeter.baseUri().toString().replace("://", "://tm-user:planted-password-77@");
            Path dead = dir.resolve("dead");
            int exit = run(Records.samples().resolve("valid").toString(), "--openmeter-url", url,
                    "--openmeter-token", token, "--dead-letter-dir", dead.toString(), "--shutdown-timeout-ms", "800",
                    "--log-format", "text");

            assertThat(exit).isEqualTo(1);
            assertThat(out.toString(StandardCharsets.UTF_8)).contains("NOT DELIVERED: 12 records");
            Map<String, JsonNode> byId = new java.util.HashMap<>();
            try (Stream<Path> files = Files.list(dead)) {
                for (Path file : files.toList()) {
                    for (String line : Files.readAllLines(file)) {
                        JsonNode letter = JSON.readTree(line);
                        assertThat(letter.get("reason").asText()).isEqualTo("undelivered");
                        byId.put(letter.get("request_id").asText(), letter);
                    }
                }
            }
            assertThat(byId.keySet()).containsExactlyInAnyOrderElementsOf(validSampleIds());
            String everything = out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8)
                    + logs.list.stream().map(e -> e.getFormattedMessage() + e.getThrowableProxy()).reduce("", String::concat)
                    + Files.readString(Files.list(dead).findFirst().orElseThrow());
            assertThat(everything).doesNotContain(token, "planted-password-77");
        } finally {
            detach(logs);
        }
    }

    private static ListAppender<ILoggingEvent> captureLogs() {
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).addAppender(appender);
        return appender;
    }

    private static void detach(ListAppender<ILoggingEvent> appender) {
        ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(appender);
    }
}
