package dev.tokenmeter.policies.scenarios;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Map;
import java.util.Optional;

/**
 * What a scenario expects; anything left out is not checked.
 *
 * @param status        the status the client gets
 * @param headers       response headers by name; a null value means the header must be absent
 * @param bodyContains  text the response body must contain
 * @param backendCalled whether the request reached the backend
 * @param usageRecord   absent: not checked; {@link UsageExpectation.None}: no record; {@link UsageExpectation.Fields}:
 *                      one record with these fields (others may have any value)
 * @param variables     context variables after the request (set-variable), by name
 */
public record Expectations(Optional<Integer> status, Map<String, String> headers, Optional<String> bodyContains,
                           Optional<Boolean> backendCalled, Optional<UsageExpectation> usageRecord,
                           Map<String, JsonNode> variables) {

    public sealed interface UsageExpectation {
        record None() implements UsageExpectation {
        }

        record Fields(Map<String, JsonNode> fields) implements UsageExpectation {
        }
    }
}
