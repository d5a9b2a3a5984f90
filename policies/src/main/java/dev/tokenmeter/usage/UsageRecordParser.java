package dev.tokenmeter.usage;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.Comparator;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Turns the raw bytes of one usage record into a {@link UsageRecord}, or says precisely why it cannot.
 * The JSON Schema shipped in this jar is the contract; the few rules a schema cannot state (cached tokens are a
 * subset of prompt tokens, reasoning tokens of completion tokens) are checked here. Valid records take a
 * one-pass streaming fast path ({@link StreamingRecordReader}, about ten times faster than tree + schema
 * validation); refused ones go through the schema validator, whose messages name the field. Thread-safe.
 */
public final class UsageRecordParser {

    /** APIM's log-to-eventhub truncates at 200 KB; a real record is under 2 KB, so anything this big is not ours. */
    public static final int DEFAULT_MAX_RECORD_BYTES = 256 * 1024;

    public static final String SCHEMA_RESOURCE = "/dev/tokenmeter/usage/schema/usage-record.v1.json";
    public static final String SCHEMA_V2_RESOURCE = "/dev/tokenmeter/usage/schema/usage-record.v2.json";

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private final JsonSchema schemaV1;
    private final JsonSchema schemaV2;
    private final int maxRecordBytes;

    public UsageRecordParser() {
        this(DEFAULT_MAX_RECORD_BYTES);
    }

    public UsageRecordParser(int maxRecordBytes) {
        this.maxRecordBytes = maxRecordBytes;
        this.schemaV1 = loadSchema(SCHEMA_RESOURCE);
        this.schemaV2 = loadSchema(SCHEMA_V2_RESOURCE);
    }

    /** The v1 contract. */
    public static JsonSchema loadSchema() {
        return loadSchema(SCHEMA_RESOURCE);
    }

    /** The schema a record claiming {@code schemaVersion} is judged by (v1 for anything unknown, which it refuses). */
    public static JsonSchema schemaFor(int schemaVersion) {
        return loadSchema(schemaVersion == 2 ? SCHEMA_V2_RESOURCE : SCHEMA_RESOURCE);
    }

    public static JsonSchema loadSchema(String resource) {
        try (InputStream in = UsageRecordParser.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("usage-record schema missing from the classpath: " + resource);
            }
            SchemaValidatorsConfig config = SchemaValidatorsConfig.builder()
                    .formatAssertionsEnabled(true)
                    .pathType(com.networknt.schema.PathType.JSON_PATH)
                    .build();
            return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(in, config);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public ParseResult parse(byte[] bytes) {
        if (bytes.length > maxRecordBytes) {
            return new ParseResult.Invalid("record is " + bytes.length + " bytes, larger than the "
                    + maxRecordBytes + "-byte limit (APIM records are under 2 KB; this is not a usage record)");
        }
        try {
            return new ParseResult.Valid(StreamingRecordReader.read(bytes));
        } catch (StreamingRecordReader.NotValid notValid) {
            return explainInvalid(bytes);
        }
    }

    /** The slow path, for records the fast path refused: the schema validator says exactly what is wrong. */
    private ParseResult explainInvalid(byte[] bytes) {
        JsonNode node;
        try {
            node = MAPPER.readTree(bytes);
        } catch (JsonProcessingException e) {
            return new ParseResult.Invalid(describeJsonError(e));
        } catch (IOException e) {
            return new ParseResult.Invalid("unreadable record: " + e.getMessage());
        }
        if (node == null || node.isMissingNode()) {
            return new ParseResult.Invalid("empty record: no JSON value");
        }
        if (!node.isObject()) {
            return new ParseResult.Invalid("$: a usage record is a JSON object, found " + node.getNodeType().name().toLowerCase());
        }
        ParseResult result = parse(node);
        if (result instanceof ParseResult.Valid) {
            // the fast path is stricter than the schema here (e.g. 1.0 for an integer): refuse, and say where
            return new ParseResult.Invalid("$: a value is not in the exact form the contract uses (integers "
                    + "written without a fraction, known fields once each)");
        }
        return result;
    }

    /** Validates an already parsed record (the policy harness hands over JObjects it built). */
    public ParseResult parse(JsonNode node) {
        JsonNode version = node.get("schema_version");
        if (version != null && version.isNumber() && !version.canConvertToExactIntegral()
                || version != null && version.isIntegralNumber() && version.asLong() != 1 && version.asLong() != 2) {
            return new ParseResult.Invalid("$.schema_version: " + version + " is not a contract this bridge reads "
                    + "(1 or 2); a producer that changes the shape bumps the version, so this record needs a newer bridge");
        }
        boolean v2 = version != null && version.isIntegralNumber() && version.asLong() == 2;
        Set<ValidationMessage> errors = (v2 ? schemaV2 : schemaV1).validate(node);
        if (!errors.isEmpty()) {
            return new ParseResult.Invalid(errors.stream()
                    .map(ValidationMessage::getMessage)
                    .sorted(Comparator.naturalOrder())
                    .collect(Collectors.joining("; ")));
        }
        long prompt = node.get("prompt_tokens").asLong();
        long completion = node.get("completion_tokens").asLong();
        long cached = optionalCount(node, "cached_tokens");
        long reasoning = optionalCount(node, "reasoning_tokens");
        if (cached > prompt) {
            return new ParseResult.Invalid("$.cached_tokens: " + cached + " exceeds $.prompt_tokens " + prompt
                    + " (cached tokens are part of the prompt)");
        }
        if (reasoning > completion) {
            return new ParseResult.Invalid("$.reasoning_tokens: " + reasoning + " exceeds $.completion_tokens "
                    + completion + " (reasoning tokens are part of the completion)");
        }
        Instant timestamp = StreamingRecordReader.instantOrNull(node.get("timestamp").asText());
        if (timestamp == null) {
            return new ParseResult.Invalid("$.timestamp: '" + node.get("timestamp").asText()
                    + "' is not a real UTC instant");
        }
        boolean stream = node.get("stream").asBoolean();
        String usageSource = node.get("usage_source").asText();
        int status = node.get("status").asInt();
        String operationKind = node.get("operation_kind").asText();
        String gatewayId = optionalText(node, "gateway_id");
        boolean exactExpected = v2 ? node.get("exact_expected").asBoolean()
                : UsageRecord.inferExactExpected(stream, usageSource, status, operationKind, gatewayId);
        JsonNode duration = node.get("duration_ms");
        return new ParseResult.Valid(new UsageRecord(
                node.get("request_id").asText(),
                timestamp,
                node.get("service_name").asText(),
                optionalText(node, "service_region"),
                gatewayId,
                optionalText(node, "api_id"),
                optionalText(node, "operation_id"),
                optionalText(node, "product_id"),
                optionalText(node, "subscription_id"),
                node.get("user_id").asText(),
                node.get("user_source").asText(),
                optionalText(node, "deployment"),
                optionalText(node, "model"),
                optionalText(node, "api_version"),
                operationKind,
                stream,
                usageSource,
                status,
                prompt,
                completion,
                node.get("total_tokens").asLong(),
                cached,
                reasoning,
                duration == null || duration.isNull() ? null : duration.asLong(),
                node.get("policy_version").asText(),
                v2 ? 2 : 1,
                exactExpected,
                v2 ? optionalText(node, "include_usage") : null,
                v2 ? optionalText(node, "backend_request_id") : null));
    }

    private static String describeJsonError(JsonProcessingException e) {
        String message = e.getOriginalMessage();
        var location = e.getLocation();
        String where = location == null ? "" : " at byte " + location.getByteOffset();
        if (message != null && message.contains("UTF-8")) {
            return "not valid UTF-8" + where + ": " + message;
        }
        if (message != null && message.startsWith("Unexpected end-of-input")) {
            return "truncated JSON" + where + ": " + message;
        }
        return "malformed JSON" + where + ": " + message;
    }

    private static String optionalText(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }

    private static long optionalCount(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null ? 0 : value.asLong();
    }
}
