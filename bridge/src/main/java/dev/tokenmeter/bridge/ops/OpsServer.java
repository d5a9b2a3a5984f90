package dev.tokenmeter.bridge.ops;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The one small HTTP port for operators and the platform: {@code /healthz} (the process is alive),
 * {@code /readyz} (the bridge is making progress: 503 with the reasons otherwise) and Prometheus {@code /metrics}.
 * The JDK's built-in server is enough for three read-only endpoints.
 */
public final class OpsServer implements AutoCloseable {

    private final HttpServer server;

    /** {@code notReadyReasons} returns an empty list when ready. */
    public OpsServer(int port, PrometheusMeterRegistry registry, Supplier<List<String>> notReadyReasons) throws IOException {
        server = HttpServer.create(new InetSocketAddress(port), 16);
        server.setExecutor(Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "tokenmeter-ops");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/healthz", exchange -> reply(exchange, 200, "text/plain", "ok\n"));
        server.createContext("/readyz", exchange -> {
            List<String> reasons = notReadyReasons.get();
            if (reasons.isEmpty()) {
                reply(exchange, 200, "text/plain", "ready\n");
            } else {
                reply(exchange, 503, "text/plain", "not ready: " + String.join("; ", reasons) + "\n");
            }
        });
        server.createContext("/metrics", exchange ->
                reply(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape()));
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private static void reply(HttpExchange exchange, int status, String contentType, String body) throws IOException {
        try (exchange) {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", contentType);
            exchange.sendResponseHeaders(status, bytes.length);
            exchange.getResponseBody().write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
