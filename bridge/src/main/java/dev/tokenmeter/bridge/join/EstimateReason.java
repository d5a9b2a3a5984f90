package dev.tokenmeter.bridge.join;

/** Why a record that expected exact usage was billed with its estimate; sent as {@code estimate_reason}. */
public enum EstimateReason {
    /** No LLM log row for the request reached the partition within the window. */
    NO_LLM_LOG("no_llm_log"),
    /** The row came, but without counts (a streamed chat whose backend was not asked to include usage). */
    LLM_LOG_WITHOUT_USAGE("llm_log_without_usage");

    private final String label;

    EstimateReason(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}
