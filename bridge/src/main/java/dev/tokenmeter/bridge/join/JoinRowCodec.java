package dev.tokenmeter.bridge.join;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;

/**
 * Reads and writes the rows of {@code policies/schema/llm-usage.v1.json} and {@code tick.v1.json}, strictly: a row
 * is recognised by its top-level {@code record_type}, and anything not exactly in the contract is refused with the
 * field that is wrong. Written rows always read back equal. A streaming reader, because a row arrives for every
 * streamed request and sits on the bridge's hot path beside the usage records.
 */
public final class JoinRowCodec {

    public static final String LLM_USAGE = "llm_usage";
    public static final String TICK = "tick";

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();
    /** Seconds required, UTC only: the exact form this codec writes, which the schema's pattern pins too. */
    private static final java.util.regex.Pattern UTC_TIME =
            java.util.regex.Pattern.compile("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?Z$");
    private static final byte[] MARKER = "\"record_type\"".getBytes(StandardCharsets.US_ASCII);

    /** What a message is, as far as join rows go. */
    public sealed interface Read {
        /** A valid row. */
        record Row(JoinRow row) implements Read {
        }

        /** No top-level {@code record_type}: not a join row (a usage record, or something else). */
        record NotAJoinRow() implements Read {
        }

        /** Says it is a join row but breaks the contract; {@code reason} names the field. */
        record Invalid(String reason) implements Read {
        }
    }

    private static final Read NOT_A_JOIN_ROW = new Read.NotAJoinRow();

    private JoinRowCodec() {
    }

    /** A cheap byte scan: false means certainly not a join row, so usage records skip the row reader entirely. */
    public static boolean mayBeJoinRow(byte[] bytes) {
        outer:
        for (int i = 0; i <= bytes.length - MARKER.length; i++) {
            for (int j = 0; j < MARKER.length; j++) {
                if (bytes[i + j] != MARKER[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    public static Read read(byte[] bytes) {
        try (JsonParser p = FACTORY.createParser(bytes)) {
            return read(p);
        } catch (Refused refused) {
            return new Read.Invalid(refused.getMessage());
        } catch (IOException | RuntimeException e) {
            return new Read.Invalid("malformed JSON: " + e.getMessage());
        }
    }

    private static Read read(JsonParser p) throws IOException {
        if (p.nextToken() != JsonToken.START_OBJECT) {
            return NOT_A_JOIN_ROW;
        }
        String recordType = null;
        Integer schemaVersion = null;
        String correlationId = null, time = null, deployment = null, model = null, apiVersion = null,
                backendRequestId = null, emitter = null;
        Boolean stream = null;
        Long prompt = null, completion = null, total = null, cached = null;
        boolean sawDeployment = false, sawModel = false, sawApiVersion = false, sawStream = false,
                sawCached = false, sawBackend = false;
        java.util.List<String> unknown = new java.util.ArrayList<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            switch (field) {
                case "record_type" -> recordType = string(p, value, field, 1, 32);
                case "schema_version" -> {
                    if (value != JsonToken.VALUE_NUMBER_INT || p.getNumberType() != JsonParser.NumberType.INT) {
                        throw new Refused("$.schema_version: must be the integer 1");
                    }
                    schemaVersion = p.getIntValue();
                }
                case "correlation_id" -> correlationId = string(p, value, field, 1, 128);
                case "time" -> time = string(p, value, field, 1, 64);
                case "deployment" -> { deployment = nullableString(p, value, field, 256); sawDeployment = true; }
                case "model" -> { model = nullableString(p, value, field, 256); sawModel = true; }
                case "api_version" -> { apiVersion = nullableString(p, value, field, 64); sawApiVersion = true; }
                case "backend_request_id" -> { backendRequestId = nullableString(p, value, field, 256); sawBackend = true; }
                case "emitter" -> emitter = string(p, value, field, 1, 256);
                case "stream" -> {
                    if (value == JsonToken.VALUE_NULL) {
                        stream = null;
                    } else if (value == JsonToken.VALUE_TRUE || value == JsonToken.VALUE_FALSE) {
                        stream = value == JsonToken.VALUE_TRUE;
                    } else {
                        throw new Refused("$.stream: must be true, false or null");
                    }
                    sawStream = true;
                }
                case "prompt_tokens" -> prompt = count(p, value, field);
                case "completion_tokens" -> completion = count(p, value, field);
                case "total_tokens" -> total = count(p, value, field);
                case "cached_tokens" -> {
                    cached = value == JsonToken.VALUE_NULL ? null : count(p, value, field);
                    sawCached = true;
                }
                default -> {
                    unknown.add(field);
                    p.skipChildren();
                }
            }
        }
        if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
            throw new Refused("trailing content after the JSON object");
        }
        if (recordType == null) {
            return NOT_A_JOIN_ROW;
        }
        if (!unknown.isEmpty()) {
            throw new Refused("$." + unknown.get(0) + ": not a field of a " + recordType + " row");
        }
        if (schemaVersion == null || schemaVersion != 1) {
            throw new Refused("$.schema_version: " + (schemaVersion == null ? "missing" : schemaVersion)
                    + " (this bridge reads version 1 of " + recordType + " rows)");
        }
        Instant at = instant(require(time, "time"));
        switch (recordType) {
            case TICK -> {
                if (correlationId != null || prompt != null || completion != null || total != null || sawCached
                        || sawDeployment || sawModel || sawApiVersion || sawStream || sawBackend) {
                    throw new Refused("$: a tick carries only record_type, schema_version, time and emitter");
                }
                return new Read.Row(new Tick(at, require(emitter, "emitter")));
            }
            case LLM_USAGE -> {
                if (emitter != null) {
                    throw new Refused("$.emitter: not a field of an llm_usage row");
                }
                String id = require(correlationId, "correlation_id");
                if (!canonical(id).equals(id) || !validId(id)) {
                    throw new Refused("$.correlation_id: '" + id + "' is not a canonical request id (lower case; "
                            + "letters, digits and . _ : -)");
                }
                long p0 = require(prompt, "prompt_tokens"), c0 = require(completion, "completion_tokens"),
                        t0 = require(total, "total_tokens");
                if (cached != null && cached > p0) {
                    throw new Refused("$.cached_tokens: " + cached + " exceeds $.prompt_tokens " + p0);
                }
                return new Read.Row(new LlmUsage(id, at, deployment, model, apiVersion, stream, p0, c0, t0, cached,
                        backendRequestId));
            }
            default -> throw new Refused("$.record_type: '" + recordType + "' is not llm_usage or tick");
        }
    }

    /** The form every request id is compared in: APIM writes GUIDs, the LLM log may upper-case them. */
    public static String canonical(String requestId) {
        return requestId.toLowerCase(Locale.ROOT);
    }

    private static boolean validId(String id) {
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '-')) {
                return false;
            }
        }
        return true;
    }

    public static byte[] write(LlmUsage row) {
        return write(g -> {
            g.writeStringField("record_type", LLM_USAGE);
            g.writeNumberField("schema_version", 1);
            g.writeStringField("correlation_id", row.correlationId());
            g.writeStringField("time", DateTimeFormatter.ISO_INSTANT.format(row.time()));
            g.writeStringField("deployment", row.deployment());
            g.writeStringField("model", row.model());
            g.writeStringField("api_version", row.apiVersion());
            if (row.stream() == null) {
                g.writeNullField("stream");
            } else {
                g.writeBooleanField("stream", row.stream());
            }
            g.writeNumberField("prompt_tokens", row.promptTokens());
            g.writeNumberField("completion_tokens", row.completionTokens());
            g.writeNumberField("total_tokens", row.totalTokens());
            if (row.cachedTokens() == null) {
                g.writeNullField("cached_tokens");
            } else {
                g.writeNumberField("cached_tokens", row.cachedTokens());
            }
            g.writeStringField("backend_request_id", row.backendRequestId());
        });
    }

    public static byte[] write(Tick tick) {
        return write(g -> {
            g.writeStringField("record_type", TICK);
            g.writeNumberField("schema_version", 1);
            g.writeStringField("time", DateTimeFormatter.ISO_INSTANT.format(tick.time()));
            g.writeStringField("emitter", tick.emitter());
        });
    }

    private interface Fields {
        void write(JsonGenerator g) throws IOException;
    }

    private static byte[] write(Fields fields) {
        ByteArrayBuilder bytes = new ByteArrayBuilder(256);
        try (JsonGenerator g = FACTORY.createGenerator(bytes)) {
            g.writeStartObject();
            fields.write(g);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static String string(JsonParser p, JsonToken value, String field, int min, int max) throws IOException {
        if (value != JsonToken.VALUE_STRING) {
            throw new Refused("$." + field + ": must be a string");
        }
        String s = p.getText();
        if (s.length() < min || s.codePointCount(0, s.length()) > max) {
            throw new Refused("$." + field + ": length must be " + min + " to " + max);
        }
        return s;
    }

    private static String nullableString(JsonParser p, JsonToken value, String field, int max) throws IOException {
        return value == JsonToken.VALUE_NULL ? null : string(p, value, field, 0, max);
    }

    private static long count(JsonParser p, JsonToken value, String field) throws IOException {
        if (value != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            throw new Refused("$." + field + ": must be an integer");
        }
        long v = p.getLongValue();
        if (v < 0 || v > 2_000_000_000L) {
            throw new Refused("$." + field + ": " + v + " is outside 0 to 2000000000");
        }
        return v;
    }

    private static <T> T require(T value, String field) {
        if (value == null) {
            throw new Refused("$." + field + ": missing");
        }
        return value;
    }

    private static Instant instant(String text) {
        if (!UTC_TIME.matcher(text).matches()) {
            throw new Refused("$.time: '" + text + "' is not a UTC RFC 3339 date-time (yyyy-MM-ddTHH:mm:ss[.fraction]Z)");
        }
        try {
            return OffsetDateTime.parse(text, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
        } catch (DateTimeParseException e) {
            throw new Refused("$.time: '" + text + "' is not an RFC 3339 date-time");
        }
    }

    private static final class Refused extends RuntimeException {
        Refused(String message) {
            super(message, null, false, false);
        }
    }
}
