package dev.tokenmeter.bridge.source.eventhubs;

import dev.tokenmeter.testkit.Azurite;
import dev.tokenmeter.bridge.source.testing.CollectingSink;
import dev.tokenmeter.bridge.support.Eventually;
import dev.tokenmeter.bridge.support.TestPipeline;
import com.azure.storage.blob.BlobContainerClientBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The source as wired for production (real EventProcessorClient, real BlobCheckpointStore on Azurite) against a
 * namespace that cannot be reached: it builds and starts, is not ready (it owns nothing and has seen no progress),
 * and stops promptly on request. (The SDK reports the connection failure only after its one-minute try timeout,
 * too slow to wait for here; the handler tests cover readiness after processor errors.)
 */
class EventHubsSourceTest {

    private static final String KEY = "SharedAccessKey=bm90LWEtcmVhbC1rZXk=";

    @Test
    void anUnreachableNamespaceIsNotReadyAndStopsPromptly(@TempDir Path dir) throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        try (Azurite azurite = Azurite.start()) {
            new BlobContainerClientBuilder().connectionString(azurite.connectionString()).containerName("checkpoints")
                    .buildClient().create();
            // the emulator form of a connection string: plain AMQP to the given host and port
            String connection = "Endpoint=sb://127.0.0.1:" + closedPort + ";SharedAccessKeyName=listen;" + KEY
                    + ";UseDevelopmentEmulator=true;EntityPath=usage";
            EventHubsSettings settings = new EventHubsSettings(null, null, null, connection, null, 50,
                    Duration.ofMillis(500), Duration.ofSeconds(5), null, azurite.connectionString(), "checkpoints",
                    Duration.ofSeconds(2));
            EventHubsSource source = new EventHubsSource(settings);
            TestPipeline t = new TestPipeline(new CollectingSink(), dir, TestPipeline.settings(10, 2), source);
            ExecutorService thread = Executors.newSingleThreadExecutor();
            try {
                Future<?> run = thread.submit(() -> {
                    source.run(t.pipeline);
                    return null;
                });
                Eventually.await("the processor started", Duration.ofSeconds(30), () -> run.isDone() || source.started());
                assertThat(run.isDone()).as("still running").isFalse();
                assertThat(source.ready()).isFalse();
                assertThat(source.describe()).contains("usage").doesNotContain("SharedAccessKey");
                long stopping = System.nanoTime();
                source.stop();
                run.get(60, TimeUnit.SECONDS);
                assertThat(Duration.ofNanos(System.nanoTime() - stopping)).isLessThan(Duration.ofSeconds(40));
            } finally {
                thread.shutdownNow();
                t.pipeline.close(Duration.ofSeconds(2));
            }
        }
    }

    @Test
    void settingsComeFromTheConnectionStringAndNeverShowIt() {
        EventHubsSettings s = new EventHubsSettings(null, null, "", "Endpoint=sb://TokenMeter.servicebus.windows.net/;"
                + "SharedAccessKeyName=listen;" + KEY + ";EntityPath=usage", null, 100, Duration.ofSeconds(1),
                Duration.ofSeconds(5), "https://acct.blob.core.windows.net/checkpoints", null, null, Duration.ofSeconds(20));
        assertThat(s.namespace()).isEqualTo("tokenmeter.servicebus.windows.net");
        assertThat(s.hubName()).isEqualTo("usage");
        assertThat(s.consumerGroup()).isEqualTo("$Default");
        assertThat(s.startPosition()).isEqualTo("earliest");
        assertThat(s.toString()).doesNotContain("SharedAccessKey").doesNotContain("bm90");
        assertThat(s.describe()).doesNotContain("bm90");
    }

    @Test
    void incompleteSettingsSayWhatIsMissing() {
        assertThatThrownBy(() -> new EventHubsSettings(null, "usage", null, null, null, 100, Duration.ofSeconds(1),
                Duration.ofSeconds(5), "https://acct.blob.core.windows.net/c", null, null, Duration.ofSeconds(20)))
                .hasMessageContaining("TOKENMETER_EVENTHUBS_NAMESPACE");
        assertThatThrownBy(() -> new EventHubsSettings("ns", "usage", null, null, null, 100, Duration.ofSeconds(1),
                Duration.ofSeconds(5), "https://acct.blob.core.windows.net/c", null, null, Duration.ofSeconds(20)))
                .hasMessageContaining("fully qualified");
        assertThatThrownBy(() -> new EventHubsSettings("ns.servicebus.windows.net", "usage", null, null, null, 100,
                Duration.ofSeconds(1), Duration.ofSeconds(5), null, null, null, Duration.ofSeconds(20)))
                .hasMessageContaining("TOKENMETER_CHECKPOINT_BLOB_CONTAINER_URL");
        assertThatThrownBy(() -> new EventHubsSettings("ns.servicebus.windows.net", "usage", null, null, "newest", 100,
                Duration.ofSeconds(1), Duration.ofSeconds(5), "https://a.blob.core.windows.net/c", null, null,
                Duration.ofSeconds(20)))
                .hasMessageContaining("earliest or latest");
        assertThatThrownBy(() -> EventHubsConnectionString.parse("Endpoint=sb://x.servicebus.windows.net/;" + KEY))
                .hasMessageNotContaining("bm90");
    }
}
