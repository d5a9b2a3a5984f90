package dev.tokenmeter.usage;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;

import java.io.IOException;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.regex.Pattern;

/**
 * The fast path of {@link UsageRecordParser}: reads a record in one pass with Jackson's streaming parser and
 * applies the v1 and v2 schemas' rules field by field, without building a tree. It answers only "valid, here is the
 * record" or "not valid"; the reason for a refusal comes from the JSON Schema validator, which stays the
 * authority (a test feeds both the same valid and broken records and requires them to agree).
 */
final class StreamingRecordReader {

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();
    /** The schema's timestamp pattern: seconds required, a four-digit year, UTC. */
    static final Pattern TIMESTAMP = Pattern.compile(
            "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|z|\\+00:00)$");
    private static final Pattern SEMVER = Pattern.compile("^[0-9]+\\.[0-9]+\\.[0-9]+([-+][0-9A-Za-z.-]+)?$");

    private static final String[] REQUIRED = {
            "schema_version", "request_id", "timestamp", "service_name", "user_id", "user_source", "operation_kind",
            "stream", "usage_source", "status", "prompt_tokens", "completion_tokens", "total_tokens", "policy_version"};

    /** Thrown for any departure from the contract; carries no detail on purpose (the slow path explains). */
    static final class NotValid extends Exception {
        NotValid() {
            super(null, null, false, false);
        }
    }

    private static final NotValid NOT_VALID = new NotValid();

    private StreamingRecordReader() {
    }

    static UsageRecord read(byte[] bytes) throws NotValid {
        try (JsonParser p = FACTORY.createParser(bytes)) {
            return read(p);
        } catch (IOException | RuntimeException e) {
            // whatever the input, the answer is only ever "not valid": the slow path explains
            throw NOT_VALID;
        }
    }

    private static UsageRecord read(JsonParser p) throws IOException, NotValid {
        if (p.nextToken() != JsonToken.START_OBJECT) {
            throw NOT_VALID;
        }
        int seen = 0;
        int version = 0;
        Boolean exactExpected = null;
        String includeUsage = null, backendRequestId = null;
        boolean v2Fields = false;
        String requestId = null, timestampText = null, serviceName = null, serviceRegion = null, gatewayId = null,
                apiId = null, operationId = null, productId = null, subscriptionId = null, userId = null,
                userSource = null, deployment = null, model = null, apiVersion = null, operationKind = null,
                usageSource = null, policyVersion = null;
        boolean stream = false;
        int status = 0;
        long prompt = 0, completion = 0, total = 0, cached = 0, reasoning = 0;
        Long duration = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            switch (field) {
                case "schema_version" -> {
                    if (value != JsonToken.VALUE_NUMBER_INT || p.getNumberType() != JsonParser.NumberType.INT) {
                        throw NOT_VALID;
                    }
                    version = p.getIntValue();
                    if (version != 1 && version != 2) {
                        throw NOT_VALID;
                    }
                    seen |= 1;
                }
                case "request_id" -> {
                    requestId = text(p, value, 1, 128);
                    for (int i = 0; i < requestId.length(); i++) {
                        char c = requestId.charAt(i);
                        if (!(Character.isLetterOrDigit(c) && c < 128 || c == '.' || c == '_' || c == ':' || c == '-')) {
                            throw NOT_VALID;
                        }
                    }
                    seen |= 1 << 1;
                }
                case "timestamp" -> {
                    timestampText = text(p, value, 0, Integer.MAX_VALUE);
                    seen |= 1 << 2;
                }
                case "service_name" -> {
                    serviceName = text(p, value, 1, 256);
                    seen |= 1 << 3;
                }
                case "user_id" -> {
                    userId = text(p, value, 1, 256);
                    seen |= 1 << 4;
                }
                case "user_source" -> {
                    userSource = oneOf(text(p, value, 0, 64),
                            "token_claim", "subscription", "apim_user", "trusted_header", "anonymous");
                    seen |= 1 << 5;
                }
                case "operation_kind" -> {
                    operationKind = oneOf(text(p, value, 0, 64),
                            "chat", "completions", "embeddings", "responses", "images", "audio", "other");
                    seen |= 1 << 6;
                }
                case "stream" -> {
                    if (value != JsonToken.VALUE_TRUE && value != JsonToken.VALUE_FALSE) {
                        throw NOT_VALID;
                    }
                    stream = value == JsonToken.VALUE_TRUE;
                    seen |= 1 << 7;
                }
                case "usage_source" -> {
                    usageSource = oneOf(text(p, value, 0, 64), "reported", "estimated", "none");
                    seen |= 1 << 8;
                }
                case "status" -> {
                    status = (int) integer(p, value, 100, 599);
                    seen |= 1 << 9;
                }
                case "prompt_tokens" -> {
                    prompt = integer(p, value, 0, 1_000_000_000L);
                    seen |= 1 << 10;
                }
                case "completion_tokens" -> {
                    completion = integer(p, value, 0, 1_000_000_000L);
                    seen |= 1 << 11;
                }
                case "total_tokens" -> {
                    total = integer(p, value, 0, 2_000_000_000L);
                    seen |= 1 << 12;
                }
                case "policy_version" -> {
                    policyVersion = text(p, value, 0, Integer.MAX_VALUE);
                    if (!SEMVER.matcher(policyVersion).matches()) {
                        throw NOT_VALID;
                    }
                    seen |= 1 << 13;
                }
                case "exact_expected" -> {
                    if (value != JsonToken.VALUE_TRUE && value != JsonToken.VALUE_FALSE) {
                        throw NOT_VALID;
                    }
                    exactExpected = value == JsonToken.VALUE_TRUE;
                    v2Fields = true;
                }
                case "include_usage" -> {
                    includeUsage = value == JsonToken.VALUE_NULL ? null : oneOf(text(p, value, 0, 64), "client", "injected");
                    v2Fields = true;
                }
                case "backend_request_id" -> {
                    backendRequestId = nullableText(p, value, 256);
                    v2Fields = true;
                }
                case "cached_tokens" -> cached = integer(p, value, 0, 1_000_000_000L);
                case "reasoning_tokens" -> reasoning = integer(p, value, 0, 1_000_000_000L);
                case "duration_ms" -> duration = value == JsonToken.VALUE_NULL ? null : integer(p, value, 0, Long.MAX_VALUE);
                case "service_region" -> serviceRegion = nullableText(p, value, 128);
                case "gateway_id" -> gatewayId = nullableText(p, value, 256);
                case "api_id" -> apiId = nullableText(p, value, 256);
                case "operation_id" -> operationId = nullableText(p, value, 256);
                case "product_id" -> productId = nullableText(p, value, 256);
                case "subscription_id" -> subscriptionId = nullableText(p, value, 256);
                case "deployment" -> deployment = nullableText(p, value, 256);
                case "model" -> model = nullableText(p, value, 256);
                case "api_version" -> apiVersion = nullableText(p, value, 64);
                default -> throw NOT_VALID;
            }
        }
        if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
            throw NOT_VALID;
        }
        if (seen != (1 << REQUIRED.length) - 1 || cached > prompt || reasoning > completion) {
            throw NOT_VALID;
        }
        if (version == 1 ? v2Fields : exactExpected == null) {
            throw NOT_VALID;
        }
        boolean exact = version == 2 ? exactExpected
                : UsageRecord.inferExactExpected(stream, usageSource, status, operationKind, gatewayId);
        return new UsageRecord(requestId, utcInstant(timestampText), serviceName, serviceRegion, gatewayId, apiId,
                operationId, productId, subscriptionId, userId, userSource, deployment, model, apiVersion,
                operationKind, stream, usageSource, status, prompt, completion, total, cached, reasoning, duration,
                policyVersion, version, exact, includeUsage, backendRequestId);
    }

    private static java.time.Instant utcInstant(String text) throws NotValid {
        java.time.Instant instant = instantOrNull(text);
        if (instant == null) {
            throw NOT_VALID;
        }
        return instant;
    }

    /** The timestamp as an instant, or null when it is not exactly in the contract's form or not a real time. */
    static java.time.Instant instantOrNull(String text) {
        if (!TIMESTAMP.matcher(text).matches()) {
            return null;
        }
        try {
            return OffsetDateTime.parse(text).toInstant();
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    private static String text(JsonParser p, JsonToken value, int minLength, int maxLength) throws IOException, NotValid {
        if (value != JsonToken.VALUE_STRING) {
            throw NOT_VALID;
        }
        String s = p.getText();
        // JSON Schema counts characters as code points; UTF-16 length is an upper bound of that
        if (s.length() < minLength || s.length() > maxLength && s.codePointCount(0, s.length()) > maxLength) {
            throw NOT_VALID;
        }
        return s;
    }

    private static String nullableText(JsonParser p, JsonToken value, int maxLength) throws IOException, NotValid {
        return value == JsonToken.VALUE_NULL ? null : text(p, value, 0, maxLength);
    }

    private static String oneOf(String value, String... allowed) throws NotValid {
        for (String a : allowed) {
            if (a.equals(value)) {
                return a;
            }
        }
        throw NOT_VALID;
    }

    private static long integer(JsonParser p, JsonToken value, long min, long max) throws IOException, NotValid {
        if (value != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            throw NOT_VALID;
        }
        long v = p.getLongValue();
        if (v < min || v > max) {
            throw NOT_VALID;
        }
        return v;
    }
}
