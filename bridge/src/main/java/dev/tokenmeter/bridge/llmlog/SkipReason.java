package dev.tokenmeter.bridge.llmlog;

/** Why a log record in a diagnostic message did not become an {@code llm_usage} row; the metric's {@code reason}. */
public enum SkipReason {
    /** A piece of the request or response messages (no model, no counts): one request logs several. */
    MESSAGE_CHUNK("message_chunk"),
    /** A GatewayLlmLogs row carrying neither a model, counts nor message content. */
    PROBE("probe"),
    /** Another diagnostic category (GatewayLogs, ...) or table sharing the hub. */
    OTHER_CATEGORY("other_category"),
    /** A platform metric record ({@code metricName}), which diagnostic settings may export to the same hub. */
    METRIC("metric"),
    /** An element of the records array that is not a JSON object. */
    NOT_A_RECORD("not_a_record"),
    /** A token-bearing row without what an {@code llm_usage} row needs (correlation id, time). */
    MISSING_FIELD("missing_field"),
    /** A field of the wrong type or out of range (negative, fractional or huge counts, a bad time, ...). */
    INVALID_FIELD("invalid_field");

    private final String label;

    SkipReason(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}
