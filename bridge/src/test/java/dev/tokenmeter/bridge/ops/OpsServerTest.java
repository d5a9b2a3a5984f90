package dev.tokenmeter.bridge.ops;

import dev.tokenmeter.bridge.ledger.LedgerSink;
import dev.tokenmeter.bridge.pipeline.Position;
import dev.tokenmeter.bridge.pipeline.SourceRecord;
import dev.tokenmeter.bridge.support.Records;
import dev.tokenmeter.bridge.support.TestPipeline;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

class OpsServerTest {

    private final HttpClient client = HttpClient.newHttpClient();

    private HttpResponse<String> get(OpsServer ops, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ops.port() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void healthReadinessAndPrometheusMetrics(@TempDir Path dir) throws Exception {
        LedgerSink ledger = new LedgerSink(dir.resolve("ledger.jsonl"));
        TestPipeline t = new TestPipeline(ledger, dir.resolve("dead"), TestPipeline.settings(10, 2));
        AtomicReference<List<String>> notReady = new AtomicReference<>(List.of());
        try (OpsServer ops = new OpsServer(0, t.registry, notReady::get)) {
            t.pipeline.submit(new SourceRecord("0", Position.of(1), Records.valid(1)));
            t.pipeline.submit(new SourceRecord("0", Position.of(2), "{not json".getBytes()));
            t.pipeline.submit(new SourceRecord("0", Position.of(3), Records.valid(3)));
            assertThat(t.pipeline.close(Duration.ofSeconds(10))).isTrue();

            assertThat(get(ops, "/healthz").statusCode()).isEqualTo(200);
            assertThat(get(ops, "/readyz").statusCode()).isEqualTo(200);
            notReady.set(List.of("source files is not making progress"));
            HttpResponse<String> readiness = get(ops, "/readyz");
            assertThat(readiness.statusCode()).isEqualTo(503);
            assertThat(readiness.body()).contains("source files is not making progress");

            String metrics = get(ops, "/metrics").body();
            assertThat(metrics).contains("tokenmeter_records_in_total 3.0");
            assertThat(metrics).contains("tokenmeter_events_sent_total 2.0");
            assertThat(metrics).contains("tokenmeter_dead_letters_total{reason=\"invalid_record\"} 1.0");
            assertThat(metrics).contains("tokenmeter_dead_letters_total{reason=\"rejected_by_sink\"} 0.0");
            assertThat(metrics).contains("tokenmeter_checkpoint_lag_records 0.0");
            assertThat(metrics).contains("tokenmeter_requests_in_flight 0.0");
            assertThat(metrics).contains("tokenmeter_batch_latency_seconds_count");
        }
    }
}
