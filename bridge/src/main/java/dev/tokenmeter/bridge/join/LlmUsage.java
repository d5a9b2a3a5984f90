package dev.tokenmeter.bridge.join;

import java.time.Instant;

/**
 * What APIM's own LLM log (diagnostic category {@code GatewayLlmLogs}) counted for one request: the exact usage a
 * streamed response's usage record can only estimate. Keyed by {@code correlationId}, the APIM request id in
 * canonical form (lower case), which is also the usage record's {@code request_id} and the partition key both are
 * sent with. Contract: {@code policies/schema/llm-usage.v1.json}.
 *
 * @param cachedTokens null when the log did not say (the Log Analytics table has no cached count)
 * @param stream       the log's {@code isStreamCompletion}; null when absent
 */
public record LlmUsage(
        String correlationId,
        Instant time,
        String deployment,
        String model,
        String apiVersion,
        Boolean stream,
        long promptTokens,
        long completionTokens,
        long totalTokens,
        Long cachedTokens,
        String backendRequestId) implements JoinRow {

    /** True when the row carries counts; a row with a model and no counts means the backend reported no usage. */
    public boolean hasUsage() {
        return promptTokens > 0 || completionTokens > 0 || totalTokens > 0;
    }
}
