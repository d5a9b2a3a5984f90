package dev.tokenmeter.usage;

import java.time.Instant;

/**
 * One validated usage record (contract v1 or v2): what one request through the APIM policy set cost, and whose it
 * was. Field meanings are documented in {@code policies/schema/usage-record.v2.json}. For v1 records, which predate
 * the LLM-log join, {@code exactExpected} is inferred ({@link #inferExactExpected}) and the other v2 fields are null.
 *
 * @param exactExpected    whether APIM's LLM log should carry this request's exact counts, so the bridge waits for it
 * @param includeUsage     {@code client}, {@code injected} or null: who asked the backend for usage in the stream
 * @param backendRequestId the model's own response id, when the policies saw it
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
        String policyVersion,
        int schemaVersion,
        boolean exactExpected,
        String includeUsage,
        String backendRequestId) {

    /**
     * What a v1 producer would have said: a successful streamed chat or Responses call billed from the gateway's
     * estimate, on the managed gateway (self-hosted gateways send no diagnostic logs; a v1 record without a gateway
     * id is taken as managed, where waiting costs only delay). Streamed completions are left out: policy sets before
     * 1.2.0 asked for usage in chat streams only, so their log rows carry no counts to wait for.
     */
    public static boolean inferExactExpected(boolean stream, String usageSource, int status, String operationKind,
                                             String gatewayId) {
        return stream && "estimated".equals(usageSource) && status < 400
                && ("chat".equals(operationKind) || "responses".equals(operationKind))
                && (gatewayId == null || "managed".equalsIgnoreCase(gatewayId));
    }

    /** The same request with other counts (the LLM log's exact ones, or a correction's differences). */
    public UsageRecord withUsage(String model, long prompt, long completion, long total, long cached, long reasoning) {
        return new UsageRecord(requestId, timestamp, serviceName, serviceRegion, gatewayId, apiId, operationId,
                productId, subscriptionId, userId, userSource, deployment, model, apiVersion, operationKind, stream,
                usageSource, status, prompt, completion, total, cached, reasoning, durationMs, policyVersion,
                schemaVersion, exactExpected, includeUsage, backendRequestId);
    }

    /**
     * The same record with its repeating strings (service, gateway, API, product, user...) replaced by shared
     * instances from {@code pool}: what a record held for minutes costs is then mostly its request id.
     */
    public UsageRecord sharing(java.util.function.UnaryOperator<String> pool) {
        return new UsageRecord(requestId, timestamp, pool.apply(serviceName), pool.apply(serviceRegion),
                pool.apply(gatewayId), pool.apply(apiId), pool.apply(operationId), pool.apply(productId),
                pool.apply(subscriptionId), pool.apply(userId), pool.apply(userSource), pool.apply(deployment),
                pool.apply(model), pool.apply(apiVersion), pool.apply(operationKind), stream, pool.apply(usageSource),
                status, promptTokens, completionTokens, totalTokens, cachedTokens, reasoningTokens, durationMs,
                pool.apply(policyVersion), schemaVersion, exactExpected, pool.apply(includeUsage), backendRequestId);
    }
}
