package dev.tokenmeter.bridge.openmeter;

import dev.tokenmeter.bridge.mapping.OutgoingEvent;
import dev.tokenmeter.bridge.sink.SendResult;
import dev.tokenmeter.bridge.sink.Sink;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.List;

/**
 * Sends batches to OpenMeter's v1 ingest API: {@code POST /api/v1/events} with
 * {@code Content-Type: application/cloudevents-batch+json} exactly (OpenMeter v1 compares the whole header, a
 * charset suffix is refused). A 204 means OpenMeter queued the batch; with sink de-duplication enabled a
 * redelivered event id is dropped there, which makes our at-least-once delivery exactly-once in effect.
 */
public final class OpenMeterSink implements Sink {

    public static final String CONTENT_TYPE = "application/cloudevents-batch+json";

    private final HttpClient client;
    private final URI ingestUri;
    /** For messages and logs: no password, no query values. */
    private final String shownUri;
    private final String bearerToken;
    private final Duration requestTimeout;

    public OpenMeterSink(URI baseUrl, String bearerToken, Duration requestTimeout) {
        this.client = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(10))
                .version(HttpClient.Version.HTTP_1_1)
                .build();
        String base = baseUrl.toString().replaceAll("/+$", "");
        this.ingestUri = URI.create(base + "/api/v1/events");
        this.shownUri = dev.tokenmeter.bridge.Redaction.url(ingestUri.toString());
        this.bearerToken = bearerToken == null || bearerToken.isBlank() ? null : bearerToken;
        this.requestTimeout = requestTimeout;
    }

    @Override
    public SendResult send(List<OutgoingEvent> batch) throws InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(ingestUri)
                .timeout(requestTimeout)
                .header("Content-Type", CONTENT_TYPE)
                .header("Accept", "application/json, application/problem+json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body(batch)));
        if (bearerToken != null) {
            request.header("Authorization", "Bearer " + bearerToken);
        }
        HttpResponse<String> response;
        try {
            response = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (HttpTimeoutException e) {
            return new SendResult.Retryable("timeout", "no answer from " + shownUri + " within " + requestTimeout, null);
        } catch (IOException e) {
            return new SendResult.Retryable("network", "cannot reach " + shownUri + ": " + e, null);
        }
        return classify(response);
    }

    static SendResult classify(HttpResponse<String> response) {
        int status = response.statusCode();
        if (status / 100 == 2) {
            return SendResult.ACCEPTED;
        }
        String detail = "HTTP " + status + " from OpenMeter: " + abbreviate(response.body());
        if (status == 400 || status == 413 || status == 422) {
            return new SendResult.Rejected(detail);
        }
        // 401/403/404 are configuration problems (token, URL); retrying keeps every record until an operator fixes
        // it, and readiness turns red meanwhile, instead of dead-lettering a whole stream
        Duration retryAfter = response.headers().firstValue("Retry-After").map(OpenMeterSink::parseRetryAfter).orElse(null);
        return new SendResult.Retryable("http_" + status, detail, retryAfter);
    }

    static Duration parseRetryAfter(String value) {
        String v = value.trim();
        try {
            return Duration.ofSeconds(Math.max(0, Long.parseLong(v)));
        } catch (NumberFormatException notSeconds) {
            try {
                Duration until = Duration.between(java.time.Instant.now(),
                        ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant());
                return until.isNegative() ? Duration.ZERO : until;
            } catch (DateTimeParseException notADate) {
                return null;
            }
        }
    }

    private static byte[] body(List<OutgoingEvent> batch) {
        int size = 2;
        for (OutgoingEvent e : batch) {
            size += e.json().length + 1;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(size);
        out.write('[');
        for (int i = 0; i < batch.size(); i++) {
            if (i > 0) {
                out.write(',');
            }
            out.writeBytes(batch.get(i).json());
        }
        out.write(']');
        return out.toByteArray();
    }

    private static String abbreviate(String body) {
        if (body == null || body.isBlank()) {
            return "(no body)";
        }
        String oneLine = body.replaceAll("\\s+", " ").trim();
        return oneLine.length() > 500 ? oneLine.substring(0, 500) + "..." : oneLine;
    }

    @Override
    public String toString() {
        // never the token
        return "OpenMeter at " + shownUri
                + (bearerToken != null ? " (bearer token set)" : "");
    }
}
