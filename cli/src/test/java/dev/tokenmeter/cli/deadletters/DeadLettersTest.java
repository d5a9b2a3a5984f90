package dev.tokenmeter.cli.deadletters;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.azure.storage.blob.BlobContainerClientBuilder;
import dev.tokenmeter.bridge.deadletter.BlobDeadLetterStore;
import dev.tokenmeter.bridge.deadletter.DeadLetter;
import dev.tokenmeter.bridge.deadletter.DeadLetterContainer;
import dev.tokenmeter.bridge.deadletter.DeadLetterStore;
import dev.tokenmeter.bridge.deadletter.DirectoryDeadLetterStore;
import dev.tokenmeter.cli.CliRunner;
import dev.tokenmeter.testkit.Azurite;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import dev.tokenmeter.testkit.ProjectFiles;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code tokenmeter deadletters} over what the bridge's own stores wrote: a directory and a Blob container in
 * Azurite, spelled the same way; the replay goes to the OpenMeter contract server, which checks every event.
 */
class DeadLettersTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path SAMPLES = ProjectFiles.root().resolve("samples/usage-records");
    private static final AtomicInteger CONTAINERS = new AtomicInteger();
    private static Azurite azurite;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        azurite = Azurite.start();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (azurite != null) {
            azurite.close();
        }
    }

    private static List<String> validSamples() throws Exception {
        return Files.readAllLines(SAMPLES.resolve("valid/2026-11-27-contoso-apim.jsonl")).stream()
                .filter(l -> !l.isBlank()).toList();
    }

    private static final byte[] NOT_UTF8 = {(byte) 0xff, (byte) 0xfe, '{'};

    /**
     * What a day of trouble leaves: two valid records OpenMeter never acknowledged (undelivered), the sample's
     * invalid records (invalid_record), one of them the day before, and bytes that are not UTF-8.
     */
    private static List<DeadLetter> letters() throws Exception {
        List<DeadLetter> letters = new ArrayList<>();
        List<String> valid = validSamples();
        for (int i = 0; i < 2; i++) {
            String record = valid.get(i);
            letters.add(new DeadLetter(Instant.parse("2026-12-02T03:1" + i + ":00.000Z"), DeadLetter.Reason.UNDELIVERED,
                    "not acknowledged by OpenMeter before the run's shutdown timeout; replay it", "0",
                    Integer.toString(40 + i), JSON.readTree(record).get("request_id").asText(),
                    record.getBytes(StandardCharsets.UTF_8), null));
        }
        letters.add(new DeadLetter(Instant.parse("2026-12-01T23:59:59.999Z"), DeadLetter.Reason.INVALID_RECORD,
                "user_id: is empty", "1", "7", "r-empty-user",
                Files.readAllBytes(SAMPLES.resolve("invalid/empty-user-id.jsonl")), null));
        letters.add(new DeadLetter(Instant.parse("2026-12-02T04:00:00.000Z"), DeadLetter.Reason.INVALID_RECORD,
                "not JSON", "1", "8", null, NOT_UTF8, null));
        return letters;
    }

    private Path directoryStore() throws Exception {
        Path dir = tmp.resolve("dead-letters");
        try (DeadLetterStore store = new DirectoryDeadLetterStore(dir)) {
            store.writeAll(letters());
        }
        return dir;
    }

    private static String containerStore() throws Exception {
        String name = "dead-letters-" + CONTAINERS.incrementAndGet();
        new BlobContainerClientBuilder().connectionString(azurite.connectionString()).containerName(name)
                .buildClient().create();
        String url = azurite.blobEndpoint() + "/" + name;
        try (BlobDeadLetterStore store = new BlobDeadLetterStore(DeadLetterContainer.connect(url,
                azurite.connectionString(), "test"))) {
            store.writeAll(letters());
        }
        return url;
    }

    private static CliRunner cli() {
        return new CliRunner().env("TOKENMETER_DEAD_LETTER_CONNECTION_STRING", azurite.connectionString());
    }

    @Test
    void listShowsOneLinePerLetterOldestFirstTheSameFromADirectoryAndFromAContainer() throws Exception {
        for (String store : List.of(directoryStore().toString(), containerStore())) {
            CliRunner.Result r = cli().run("deadletters", "list", store);
            assertThat(r.exitCode()).as(r.err()).isZero();
            List<String> lines = r.out().lines().toList();
            assertThat(lines).hasSize(5);
            assertThat(lines.get(0)).startsWith("TIME").contains("REASON", "REQUEST ID", "USER", "PARTITION", "POSITION");
            assertThat(lines.get(1)).containsPattern("2026-12-01T23:59:59.999Z +invalid_record +r-empty-user +- +1 +7 +user_id: is empty");
            assertThat(lines.get(2)).containsPattern("2026-12-02T03:10:00Z +undelivered +6f1c2a7e-4b1d-4f8e-9a51-0c2d3e4f5a61 "
                    + "+3f2b8c1e-7d6a-4e21-9b0f-5a4c3d2e1f01 +0 +40 ");
            assertThat(lines.get(4)).containsPattern("2026-12-02T04:00:00Z +invalid_record +- +- +1 +8 +not JSON");
        }
    }

    @Test
    void reasonAndSinceSelectAndJsonAndCsvCarryTheSameFields() throws Exception {
        String store = containerStore();
        CliRunner.Result r = cli().run("deadletters", "list", store, "--reason", "undelivered", "-o", "json");
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode letters = JSON.readTree(r.out());
        assertThat(letters).hasSize(2);
        assertThat(letters.get(0).get("reason").asText()).isEqualTo("undelivered");
        assertThat(letters.get(0).get("user").asText()).isEqualTo("3f2b8c1e-7d6a-4e21-9b0f-5a4c3d2e1f01");
        assertThat(letters.get(0).get("location").asText()).startsWith("2026-12-02/031000.000Z-undelivered-");

        CliRunner.Result since = cli().run("deadletters", "list", store, "--since", "2026-12-02", "-o", "csv");
        assertThat(since.exitCode()).as(since.err()).isZero();
        assertThat(since.out().lines().toList()).hasSize(4).first().asString().startsWith("TIME,REASON,REQUEST ID");
        assertThat(since.out()).doesNotContain("r-empty-user");

        CliRunner.Result instant = cli().run("deadletters", "list", directoryStore().toString(), "--since",
                "2026-12-02T03:30:00Z", "--reason", "invalid_record,undelivered");
        assertThat(instant.out().lines().toList()).hasSize(2);
        assertThat(instant.out()).contains("2026-12-02T04:00:00Z");
    }

    @Test
    void summaryCountsByReasonAndByDay() throws Exception {
        CliRunner.Result r = cli().run("deadletters", "summary", containerStore());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).containsPattern("2026-12-01 +invalid_record +1")
                .containsPattern("2026-12-02 +invalid_record +1")
                .containsPattern("2026-12-02 +undelivered +2")
                .containsPattern("all days +invalid_record +2")
                .containsPattern("all days +all reasons +4");
        JsonNode json = JSON.readTree(cli().run("deadletters", "summary", directoryStore().toString(), "-o", "json").out());
        assertThat(json.get("total").asInt()).isEqualTo(4);
        assertThat(json.get("by_reason").get("undelivered").asInt()).isEqualTo(2);
        assertThat(json.get("by_day")).hasSize(3);
    }

    @Test
    void extractWritesTheOriginalBytesToFilesOrTheTextOnesToStandardOutput() throws Exception {
        Path out = tmp.resolve("extracted");
        CliRunner.Result r = cli().run("deadletters", "extract", containerStore(), "--to", out.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.err()).contains("Wrote 4 records", "tokenmeter replay " + out);
        List<byte[]> written;
        try (Stream<Path> files = Files.list(out)) {
            written = files.sorted().map(f -> {
                try {
                    return Files.readAllBytes(f);
                } catch (java.io.IOException e) {
                    throw new IllegalStateException(e);
                }
            }).toList();
        }
        assertThat(written).hasSize(4);
        assertThat(written).anySatisfy(b -> assertThat(b).isEqualTo(NOT_UTF8));
        assertThat(written).anySatisfy(b -> assertThat(b).isEqualTo(Files.readAllBytes(SAMPLES.resolve("invalid/empty-user-id.jsonl"))));

        CliRunner.Result text = cli().run("deadletters", "extract", directoryStore().toString(), "--reason", "undelivered");
        assertThat(text.exitCode()).as(text.err()).isZero();
        assertThat(text.out().lines().toList()).containsExactlyElementsOf(validSamples().subList(0, 2));

        CliRunner.Result binary = cli().run("deadletters", "extract", directoryStore().toString());
        assertThat(binary.exitCode()).isEqualTo(1);
        assertThat(binary.err()).contains("holds bytes that are not UTF-8; extract it with --to DIR");
    }

    @Test
    void replaySendsTheSelectedOriginalsToOpenMeterWithTheBridgesIdsAndTwiceIsStillOnce() throws Exception {
        String store = containerStore();
        try (OpenMeterContractServer openmeter = OpenMeterContractServer.start()) {
            String[] args = {"deadletters", "replay", store, "--reason", "undelivered",
                    "--openmeter-url", openmeter.baseUri().toString(), "--dead-letter-dir", tmp.resolve("again").toString(),
                    "--timeout", "PT30S"};
            CliRunner.Result r = cli().env("TOKENMETER_OPENMETER_TOKEN", "om-token").run(args);
            assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
            assertThat(r.out()).contains("Replayed 2 records from " + store, "2 delivered");
            List<String> ids = validSamples().subList(0, 2).stream().map(l -> {
                try {
                    return JSON.readTree(l).get("request_id").asText();
                } catch (java.io.IOException e) {
                    throw new IllegalStateException(e);
                }
            }).toList();
            assertThat(openmeter.ingestedEvents()).extracting(e -> e.get("id").asText()).containsExactlyElementsOf(ids);
            assertThat(openmeter.ingestedEvents()).allSatisfy(e -> assertThat(e.get("subject").asText())
                    .isEqualTo("3f2b8c1e-7d6a-4e21-9b0f-5a4c3d2e1f01"));

            CliRunner.Result again = cli().env("TOKENMETER_OPENMETER_TOKEN", "om-token").run(args);
            assertThat(again.exitCode()).as(again.out() + again.err()).isZero();
            // the same ids again: OpenMeter's de-duplication counts each request once
            assertThat(openmeter.ingestedEvents()).extracting(e -> e.get("id").asText())
                    .containsExactlyElementsOf(Stream.concat(ids.stream(), ids.stream()).toList());
            assertThat(openmeter.violations()).isEmpty();
            assertThat(r.out() + r.err() + again.out() + again.err()).doesNotContain("om-token");
        }
    }

    @Test
    void replayOfInvalidLettersDeadLettersThemAgainAndSaysSo() throws Exception {
        try (OpenMeterContractServer openmeter = OpenMeterContractServer.start()) {
            Path again = tmp.resolve("again");
            CliRunner.Result r = cli().env("TOKENMETER_OPENMETER_TOKEN", "om-token").run("deadletters", "replay",
                    directoryStore().toString(), "--reason", "invalid_record", "--openmeter-url",
                    openmeter.baseUri().toString(), "--dead-letter-dir", again.toString(), "--timeout", "PT30S");
            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.out()).contains("Replayed 2 records", "0 delivered", "2 dead-lettered again in " + again);
            assertThat(openmeter.ingestedEvents()).isEmpty();
        }
    }

    @Test
    void badInputIsOneLineNamingWhatIsWrong() throws Exception {
        CliRunner.Result noStore = new CliRunner().run("deadletters", "list");
        assertThat(noStore.exitCode()).isEqualTo(2);
        assertThat(noStore.err()).startsWith("error: Missing STORE");

        CliRunner.Result reason = cli().run("deadletters", "list", directoryStore().toString(), "--reason", "bogus");
        assertThat(reason.exitCode()).isEqualTo(2);
        assertThat(reason.err()).startsWith("error: --reason: unknown dead-letter reason 'bogus': one of [invalid_record, ");

        CliRunner.Result since = cli().run("deadletters", "summary", directoryStore().toString(), "--since", "yesterday");
        assertThat(since.exitCode()).isEqualTo(2);
        assertThat(since.err()).startsWith("error: --since 'yesterday': use an instant");

        CliRunner.Result url = cli().run("deadletters", "list", "https://acct.blob.core.windows.net/?sv=1&sig=s3cret");
        assertThat(url.exitCode()).isEqualTo(2);
        assertThat(url.err()).contains("must be a Blob container URL").doesNotContain("s3cret");

        Path missing = tmp.resolve("nowhere");
        CliRunner.Result dir = cli().run("deadletters", "list", missing.toString());
        assertThat(dir.exitCode()).isEqualTo(1);
        assertThat(dir.err().strip()).isEqualTo("error: dead-letter directory " + missing.toAbsolutePath() + " does not exist");
    }

    @Test
    void theStoreDefaultsToTheBridgesOwnVariables() throws Exception {
        CliRunner.Result r = cli().env("TOKENMETER_DEAD_LETTER_BLOB_CONTAINER_URL", containerStore())
                .env("TOKENMETER_DEAD_LETTER_DIR", tmp.resolve("ignored").toString())
                .run("deadletters", "summary", "-o", "json");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(JSON.readTree(r.out()).get("total").asInt()).isEqualTo(4);
    }
}
