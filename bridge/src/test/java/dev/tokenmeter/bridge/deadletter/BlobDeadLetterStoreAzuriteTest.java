package dev.tokenmeter.bridge.deadletter;

import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.BlobContainerClientBuilder;
import com.azure.storage.blob.models.BlobItem;
import dev.tokenmeter.bridge.pipeline.Position;
import dev.tokenmeter.bridge.pipeline.SourceRecord;
import dev.tokenmeter.bridge.source.testing.CollectingSink;
import dev.tokenmeter.bridge.support.Eventually;
import dev.tokenmeter.bridge.support.Records;
import dev.tokenmeter.bridge.support.TestPipeline;
import dev.tokenmeter.testkit.Azurite;
import dev.tokenmeter.testkit.TcpProxy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Dead letters in a real Blob service (Azurite), through the pipeline as the bridge wires it: each letter is one
 * blob holding the original bytes; the checkpoint passes a bad record only once its blob is written; while the
 * service is unreachable the letter is retried and the checkpoint held, and nothing is lost when it returns.
 */
class BlobDeadLetterStoreAzuriteTest {

    private static final AtomicInteger CONTAINERS = new AtomicInteger();
    private static Azurite azurite;
    private final List<AutoCloseable> toClose = new ArrayList<>();

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

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : toClose) {
            c.close();
        }
    }

    /** A fresh container; its URL goes through {@code port} (Azurite's own, or a proxy's). */
    private static String newContainerUrl(int port) {
        String name = "dead-letters-" + CONTAINERS.incrementAndGet();
        new BlobContainerClientBuilder().connectionString(azurite.connectionString()).containerName(name)
                .buildClient().create();
        return "http://127.0.0.1:" + port + "/" + Azurite.ACCOUNT + "/" + name;
    }

    private static BlobContainerClient direct(String url) {
        return DeadLetterContainer.connect(url.replaceFirst(":\\d+/", ":" + azurite.port() + "/"),
                azurite.connectionString(), "test");
    }

    private static SourceRecord record(int position, byte[] bytes) {
        return new SourceRecord("0", Position.of(position), bytes);
    }

    @Test
    void aBadRecordIsOneBlobWithItsExactBytesAndTheCheckpointPassesIt() throws Exception {
        String url = newContainerUrl(azurite.port());
        BlobDeadLetterStore store = new BlobDeadLetterStore(DeadLetterContainer.connect(url, azurite.connectionString(),
                "test"));
        toClose.add(store);
        assertThat(store.problem()).isNull();
        CollectingSink sink = new CollectingSink();
        TestPipeline t = new TestPipeline(sink, store, TestPipeline.settings(10, 2), (p, pos) -> { });
        byte[] broken = "{\"request_id\":\"r-broken\",\"schema_version\":1,\"prompt_tokens\":\"many\"}"
                .getBytes(StandardCharsets.UTF_8);
        byte[] notUtf8 = {(byte) 0xff, (byte) 0xfe, 'x'};
        t.pipeline.submit(record(0, Records.valid(0)));
        t.pipeline.submit(record(1, broken));
        t.pipeline.submit(record(2, notUtf8));
        t.pipeline.submit(record(3, Records.valid(3)));
        assertThat(t.pipeline.close(Duration.ofSeconds(30))).isTrue();

        assertThat(t.checkpoints.get("0").sequence()).isEqualTo(3);
        List<BlobItem> blobs = direct(url).listBlobs().stream().toList();
        assertThat(blobs).hasSize(2);
        assertThat(blobs).allSatisfy(b -> assertThat(b.getName())
                .matches("\\d{4}-\\d{2}-\\d{2}/\\d{6}\\.\\d{3}Z-invalid_record-[0-9a-f]{16}\\.json"));
        DeadLetterArchive.Contents read = DeadLetterArchive.container(direct(url))
                .read(new DeadLetterArchive.Selection(null, Set.of()));
        assertThat(read.unreadable()).isEmpty();
        assertThat(read.letters()).extracting(s -> s.letter().position()).containsExactlyInAnyOrder("1", "2");
        DeadLetter first = read.letters().stream().filter(s -> s.letter().position().equals("1")).findFirst()
                .orElseThrow().letter();
        assertThat(first.original()).isEqualTo(broken);
        assertThat(first.requestId()).isEqualTo("r-broken");
        assertThat(first.reason()).isEqualTo(DeadLetter.Reason.INVALID_RECORD);
        assertThat(read.letters().stream().filter(s -> s.letter().position().equals("2")).findFirst().orElseThrow()
                .letter().original()).isEqualTo(notUtf8);
    }

    @Test
    void whileTheBlobServiceIsUnreachableTheLetterIsRetriedAndTheCheckpointHeldThenNothingIsLost() throws Exception {
        TcpProxy proxy = TcpProxy.to("127.0.0.1", azurite.port());
        toClose.add(proxy);
        String url = newContainerUrl(proxy.port());
        BlobDeadLetterStore store = new BlobDeadLetterStore(DeadLetterContainer.connect(url, azurite.connectionString(),
                "test"));
        toClose.add(store);
        CollectingSink sink = new CollectingSink();
        TestPipeline t = new TestPipeline(sink, store, TestPipeline.settings(10, 2), (p, pos) -> { });
        t.pipeline.submit(record(0, Records.valid(0)));
        Eventually.await("record 0 checkpointed", Duration.ofSeconds(30),
                () -> t.checkpoints.containsKey("0") && t.checkpoints.get("0").sequence() == 0);

        proxy.pause();
        // the source goes on submitting: the bad record's letter cannot be written, the good ones after it can be sent
        CompletableFuture<Void> submitting = CompletableFuture.runAsync(() -> {
            try {
                t.pipeline.submit(record(1, "not json at all".getBytes(StandardCharsets.UTF_8)));
                for (int i = 2; i <= 5; i++) {
                    t.pipeline.submit(record(i, Records.valid(i)));
                }
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Eventually.await("the store retried against the unreachable service", Duration.ofSeconds(60),
                () -> proxy.refused() >= 3);
        assertThat(t.checkpoints.get("0").sequence())
                .as("no checkpoint passes a letter that is not stored").isEqualTo(0);
        assertThat(direct(url).listBlobs().stream().toList()).isEmpty();

        proxy.resume();
        submitting.get(60, TimeUnit.SECONDS);
        assertThat(t.pipeline.close(Duration.ofSeconds(60))).isTrue();
        assertThat(t.checkpoints.get("0").sequence()).isEqualTo(5);
        List<DeadLetterArchive.Stored> letters = DeadLetterArchive.container(direct(url))
                .read(new DeadLetterArchive.Selection(null, Set.of())).letters();
        assertThat(letters).hasSize(1);
        assertThat(new String(letters.get(0).letter().original(), StandardCharsets.UTF_8)).isEqualTo("not json at all");
        assertThat(letters.get(0).letter().position()).isEqualTo("1");
    }

    @Test
    void aRetriedUploadOfTheSameLetterKeepsOneBlob() throws Exception {
        String url = newContainerUrl(azurite.port());
        try (BlobDeadLetterStore store = new BlobDeadLetterStore(direct(url))) {
            DeadLetter letter = new DeadLetter(Instant.parse("2026-12-02T03:15:00.123Z"), DeadLetter.Reason.INVALID_RECORD,
                    "bad", "0", "7", "r-7", "x".getBytes(StandardCharsets.UTF_8), null);
            store.write(letter);
            store.writeAll(List.of(letter, letter));
        }
        assertThat(direct(url).listBlobs().stream().map(BlobItem::getName).toList()).singleElement()
                .asString().startsWith("2026-12-02/031500.123Z-invalid_record-");
    }

    @Test
    void aContainerThatDoesNotExistIsNamedAtOnce() {
        BlobDeadLetterStore store = new BlobDeadLetterStore(DeadLetterContainer.connect(
                "http://127.0.0.1:" + azurite.port() + "/" + Azurite.ACCOUNT + "/no-such-container",
                azurite.connectionString(), "test"));
        toClose.add(store);
        assertThat(store.problem()).isEqualTo("dead-letter container http://127.0.0.1:" + azurite.port() + "/"
                + Azurite.ACCOUNT + "/no-such-container does not exist");
    }

    @Test
    void aUrlThatNamesNoContainerIsRefusedWithTheOptionAndWithoutItsSecret() {
        assertThatThrownBy(() -> DeadLetterContainer.connect("https://acct.blob.core.windows.net/?sig=secret", null,
                "--dead-letter-blob-container-url"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--dead-letter-blob-container-url 'https://acct.blob.core.windows.net/?sig=***' must be a "
                        + "Blob container URL, https://<account>.blob.core.windows.net/<container>");
    }
}
