package dev.tokenmeter.policies.harness;

import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Where a policy's {@code send-request} goes: a real HTTP call to a server the caller started on loopback
 * ({@link #loopbackHttp()}), or answers a scenario file wrote down. The URL is already what .NET's Uri made of it.
 */
@FunctionalInterface
public interface SendRequestTransport {

    Answer send(String method, URI url, Map<String, List<String>> headers, String body, Duration timeout);

    /**
     * What came back: a response (any HTTP status), or a failure with APIM's reason: {@code Timeout},
     * {@code ConnectionFailure} or {@code RequestFailure}. {@code waited} is how long the gateway spent on it, which
     * {@code context.Elapsed} grows by.
     */
    sealed interface Answer {
        Duration waited();

        record Response(int status, Map<String, List<String>> headers, String body, Duration waited) implements Answer {
        }

        record Failure(String reason, String detail, Duration waited) implements Answer {
        }
    }

    /**
     * send-request performed for real with java.net.http: the policy's timeout bounds the whole exchange (the
     * client's own timeout stops waiting for headers only). Only literal loopback hosts are reached, so a test or a
     * scenario never calls a real service.
     */
    static SendRequestTransport loopbackHttp() {
        return LoopbackHttp.INSTANCE;
    }

    final class LoopbackHttp implements SendRequestTransport {
        static final LoopbackHttp INSTANCE = new LoopbackHttp();
        /** HTTP/1.1 like APIM's gateway (the JDK would otherwise offer an h2c upgrade no gateway sends). */
        private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER).build();
        /** Headers the JDK client sets itself and refuses from callers; APIM manages them too. */
        private static final Set<String> TRANSPORT_HEADERS = Set.of("connection", "content-length", "host", "expect", "upgrade");

        private LoopbackHttp() {
        }

        @Override
        public Answer send(String method, URI url, Map<String, List<String>> headers, String body, Duration timeout) {
            if (url.getHost() == null || !Set.of("127.0.0.1", "localhost", "[::1]").contains(url.getHost())) {
                throw new HarnessException("send-request to " + url + ": the harness only reaches servers started on loopback;"
                        + " point the policy's URL named value at the test's server");
            }
            HttpRequest.Builder request = HttpRequest.newBuilder(url).timeout(timeout)
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
            headers.forEach((name, values) -> {
                if (!TRANSPORT_HEADERS.contains(name.toLowerCase(Locale.ROOT))) {
                    values.forEach(v -> request.header(name, v));
                }
            });
            long started = System.nanoTime();
            CompletableFuture<HttpResponse<String>> pending = HTTP.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString());
            try {
                HttpResponse<String> response = pending.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                Map<String, List<String>> responseHeaders = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
                response.headers().map().forEach((name, values) -> {
                    if (!name.startsWith(":")) {
                        responseHeaders.put(name, List.copyOf(values));
                    }
                });
                return new Answer.Response(response.statusCode(), responseHeaders, response.body(), since(started));
            } catch (TimeoutException | ExecutionException failure) {
                pending.cancel(true);
                Throwable cause = failure instanceof ExecutionException ? failure.getCause() : failure;
                String reason = cause instanceof TimeoutException || cause instanceof HttpTimeoutException ? "Timeout"
                        : cause instanceof ConnectException ? "ConnectionFailure" : "RequestFailure";
                return new Answer.Failure(reason, String.valueOf(cause), since(started));
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
                throw new HarnessException("interrupted during send-request", interrupted);
            }
        }

        private static Duration since(long started) {
            return Duration.ofNanos(System.nanoTime() - started);
        }
    }
}
