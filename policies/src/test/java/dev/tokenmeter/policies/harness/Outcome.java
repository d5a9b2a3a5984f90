package dev.tokenmeter.policies.harness;

import java.util.List;
import java.util.Map;

/**
 * What one scenario produced, as APIM would have: the Event Hub messages, metric emissions, token-limit counter
 * keys, the response the client got, the request body the backend got, and any policy errors.
 */
record Outcome(
        int status,
        Map<String, List<String>> responseHeaders,
        boolean reachedBackend,
        String forwardedRequestBody,
        int responseBodyReads,
        List<EventHubMessage> eventHubMessages,
        List<MetricEmission> metrics,
        List<String> counterKeys,
        List<String> errors) {

    record EventHubMessage(String loggerId, String partitionKey, String partitionId, String body) {
    }

    record MetricEmission(String policy, String namespace, Map<String, String> dimensions) {
    }
}
