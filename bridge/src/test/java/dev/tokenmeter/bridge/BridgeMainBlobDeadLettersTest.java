package dev.tokenmeter.bridge;

import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.BlobContainerClientBuilder;
import com.azure.storage.blob.models.BlobItem;
import dev.tokenmeter.bridge.deadletter.DeadLetterArchive;
import dev.tokenmeter.bridge.support.Records;
import dev.tokenmeter.testkit.Azurite;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The bridge run on the samples with its dead letters in a Blob container (Azurite), as the Container App runs. */
class BridgeMainBlobDeadLettersTest {

    private static Azurite azurite;

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

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

    private int run(String... args) {
        return BridgeMain.run(args, new ByteArrayInputStream(new byte[0]), new PrintStream(out, true),
                new PrintStream(err, true), false);
    }

    @Test
    void theSamplesInvalidRecordsBecomeOneBlobEachWithTheirExactBytes() throws Exception {
        BlobContainerClient container = new BlobContainerClientBuilder().connectionString(azurite.connectionString())
                .containerName("bridge-dead-letters").buildClient();
        container.create();
        String url = azurite.blobEndpoint() + "/bridge-dead-letters";
        int exit = run(Records.samples().toString(), "--ledger-file", dir.resolve("ledger.jsonl").toString(),
                "--dead-letter-dir", dir.resolve("unused").toString(), "--dead-letter-blob-container-url", url,
                "--dead-letter-connection-string", azurite.connectionString(), "--log-format", "text");

        assertThat(exit).as(out + "\n" + err).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("dead letters: 14 (in " + url + ")");
        assertThat(out.toString(StandardCharsets.UTF_8) + err).doesNotContain(azuriteKey());
        List<BlobItem> blobs = container.listBlobs().stream().toList();
        assertThat(blobs).hasSize(14);
        assertThat(dir.resolve("unused")).as("no directory store when the container is configured").doesNotExist();
        var letters = DeadLetterArchive.container(container).read(new DeadLetterArchive.Selection(null, Set.of()))
                .letters();
        try (Stream<Path> invalid = Files.list(Records.samples().resolve("invalid"))) {
            for (Path file : invalid.toList()) {
                byte[] bytes = Files.readAllBytes(file);
                String firstLine = new String(bytes, StandardCharsets.UTF_8).lines().findFirst().orElse("");
                assertThat(letters).as("a letter for " + file.getFileName()).anySatisfy(s ->
                        assertThat(s.letter().partition()).endsWith(file.getFileName().toString()));
                assertThat(letters).anySatisfy(s ->
                        assertThat(new String(s.letter().original(), StandardCharsets.UTF_8)).isEqualTo(firstLine));
            }
        }
    }

    @Test
    void aContainerThatDoesNotExistIsAUsageErrorBeforeAnythingIsRead() {
        String url = azurite.blobEndpoint() + "/no-such-container";
        int exit = run(Records.samples().toString(), "--ledger-file", dir.resolve("ledger.jsonl").toString(),
                "--dead-letter-blob-container-url", url, "--dead-letter-connection-string", azurite.connectionString());
        assertThat(exit).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("tokenmeter-bridge: dead-letter container " + url
                + " does not exist (--dead-letter-blob-container-url / TOKENMETER_DEAD_LETTER_BLOB_CONTAINER_URL)");
        assertThat(Files.exists(dir.resolve("ledger.jsonl"))).isFalse();
    }

    private static String azuriteKey() {
        String cs = azurite.connectionString();
        int start = cs.indexOf("AccountKey=") + "AccountKey=".length();
        return cs.substring(start, cs.indexOf(';', start));
    }
}
