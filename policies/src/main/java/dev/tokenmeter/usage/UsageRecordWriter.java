package dev.tokenmeter.usage;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.format.DateTimeFormatter;

/**
 * Writes a parsed record back in its contract's form (v1 or v2, as it came). The bridge keeps records that wait for
 * their LLM log row parsed rather than as their bytes (less memory, no second parse); should one of them end up a
 * dead letter, this is its original. {@link UsageRecordParser} reads it back to an equal record.
 */
public final class UsageRecordWriter {

    private static final JsonFactory FACTORY = new JsonFactory();

    private UsageRecordWriter() {
    }

    public static byte[] write(UsageRecord r) {
        ByteArrayBuilder bytes = new ByteArrayBuilder(768);
        try (JsonGenerator g = FACTORY.createGenerator(bytes)) {
            g.writeStartObject();
            g.writeNumberField("schema_version", r.schemaVersion());
            g.writeStringField("request_id", r.requestId());
            g.writeStringField("timestamp", DateTimeFormatter.ISO_INSTANT.format(r.timestamp()));
            g.writeStringField("service_name", r.serviceName());
            g.writeStringField("service_region", r.serviceRegion());
            g.writeStringField("gateway_id", r.gatewayId());
            g.writeStringField("api_id", r.apiId());
            g.writeStringField("operation_id", r.operationId());
            g.writeStringField("product_id", r.productId());
            g.writeStringField("subscription_id", r.subscriptionId());
            g.writeStringField("user_id", r.userId());
            g.writeStringField("user_source", r.userSource());
            g.writeStringField("deployment", r.deployment());
            g.writeStringField("model", r.model());
            g.writeStringField("api_version", r.apiVersion());
            g.writeStringField("operation_kind", r.operationKind());
            g.writeBooleanField("stream", r.stream());
            g.writeStringField("usage_source", r.usageSource());
            if (r.schemaVersion() == 2) {
                g.writeBooleanField("exact_expected", r.exactExpected());
                g.writeStringField("include_usage", r.includeUsage());
                g.writeStringField("backend_request_id", r.backendRequestId());
            }
            g.writeNumberField("status", r.status());
            g.writeNumberField("prompt_tokens", r.promptTokens());
            g.writeNumberField("completion_tokens", r.completionTokens());
            g.writeNumberField("total_tokens", r.totalTokens());
            g.writeNumberField("cached_tokens", r.cachedTokens());
            g.writeNumberField("reasoning_tokens", r.reasoningTokens());
            if (r.durationMs() == null) {
                g.writeNullField("duration_ms");
            } else {
                g.writeNumberField("duration_ms", r.durationMs());
            }
            g.writeStringField("policy_version", r.policyVersion());
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }
}
