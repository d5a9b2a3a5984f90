package dev.tokenmeter.usage;

import java.time.Instant;

/**
 * One validated v1 usage record: what one request through the APIM policy set cost, and whose it was.
 * Field meanings are documented in {@code policies/schema/usage-record.v1.json}.
 */
public record UsageRecord(
        String requestId,
        Instant timestamp,
        String serviceName,
        String serviceRegion,
        String gatewayId,
        String apiId,
        String operationId,
        String productId,
        String subscriptionId,
        String userId,
        String userSource,
        String deployment,
        String model,
        String apiVersion,
        String operationKind,
        boolean stream,
        String usageSource,
        int status,
        long promptTokens,
        long completionTokens,
        long totalTokens,
        long cachedTokens,
        long reasoningTokens,
        Long durationMs,
        String policyVersion) {
}
