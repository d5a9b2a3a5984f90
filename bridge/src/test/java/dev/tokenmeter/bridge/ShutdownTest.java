package dev.tokenmeter.bridge;

import dev.tokenmeter.bridge.support.Eventually;
import dev.tokenmeter.bridge.support.Records;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** SIGTERM to a real bridge process: what it has read is flushed to OpenMeter before it exits. */
class ShutdownTest {

    @Test
    void sigtermFlushesBatchedEventsWithinTheShutdownBudget(@TempDir Path dir) throws Exception {
        int opsPort;
        try (ServerSocket probe = new ServerSocket(0)) {
            opsPort = probe.getLocalPort();
        }
        try (OpenMeterContractServer openMeter = OpenMeterContractServer.start()) {
            List<String> command = List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"),
                    BridgeMain.class.getName(), "-",
                    "--openmeter-url", openMeter.baseUri().toString(),
                    // a linger far longer than the test: only the shutdown can send these events
                    "--batch-linger-ms", "600000",
                    "--http-port", Integer.toString(opsPort),
                    "--dead-letter-dir", dir.resolve("dead").toString(),
                    "--shutdown-timeout-ms", "15000");
            Process bridge = new ProcessBuilder(command).redirectError(dir.resolve("stderr.log").toFile())
                    .redirectOutput(dir.resolve("stdout.log").toFile()).start();
            try {
                OutputStream stdin = bridge.getOutputStream();
                for (int i = 0; i < 40; i++) {
                    stdin.write(Records.valid(i));
                    stdin.write('\n');
                }
                stdin.flush();
                HttpClient client = HttpClient.newHttpClient();
                Eventually.await("the bridge to read 40 records", Duration.ofSeconds(60),
                        () -> scrape(client, opsPort).contains("tokenmeter_records_in_total 40.0"));
                assertThat(openMeter.ingestedEvents()).as("nothing sent before shutdown").isEmpty();

                bridge.destroy(); // SIGTERM
                assertThat(bridge.waitFor(30, TimeUnit.SECONDS)).isTrue();
                assertThat(openMeter.violations()).isEmpty();
                assertThat(openMeter.ingestedEvents()).extracting(e -> e.get("id").asText())
                        .containsExactlyInAnyOrderElementsOf(
                                java.util.stream.IntStream.range(0, 40).mapToObj(Records::requestId).toList());
            } finally {
                bridge.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private static String scrape(HttpClient client, int port) {
        try {
            return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (Exception notUpYet) {
            return "";
        }
    }
}
