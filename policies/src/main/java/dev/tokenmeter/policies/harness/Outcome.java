package dev.tokenmeter.policies.harness;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;
import java.util.Map;

/**
 * What one scenario produced, as APIM would have: the Event Hub messages, metric emissions, token-limit counter
 * keys, the response the client got (status, headers, body), the request body the backend got, any policy errors,
 * every send-request the policies made with what came of it, and the request's id as the expressions see it
 * ({@code context.RequestId.ToString()}, computed by the C# host), and whether a streamed (text/event-stream)
 * response was buffered by the gateway before the client saw it (forward-request without buffer-response="false"),
 * and the context variables at the end (their JSON form: strings, numbers, booleans, JSON values; other objects as
 * their .NET type name).
 */
public record Outcome(
        int status,
        Map<String, List<String>> responseHeaders,
        boolean reachedBackend,
        String forwardedRequestBody,
        int responseBodyReads,
        List<EventHubMessage> eventHubMessages,
        List<MetricEmission> metrics,
        List<String> counterKeys,
        List<String> errors,
        String responseBody,
        List<PolicyRunner.Sent> sendRequests,
        String contextRequestId,
        boolean streamBuffered,
        Map<String, JsonNode> variables) {

    /** One log-to-eventhub message: its logger, the evaluated partition-key and partition-id attributes, the body. */
    public record EventHubMessage(String loggerId, String partitionKey, String partitionId, String body) {
    }

    public record MetricEmission(String policy, String namespace, Map<String, String> dimensions) {
    }
}
