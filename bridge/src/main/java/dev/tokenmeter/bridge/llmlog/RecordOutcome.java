package dev.tokenmeter.bridge.llmlog;

import dev.tokenmeter.bridge.join.LlmUsage;

/** What one log record of a diagnostic message came to. */
public sealed interface RecordOutcome {

    /** A token-bearing GatewayLlmLogs row, ready to be written as an {@code llm_usage} row. */
    record Usage(LlmUsage usage) implements RecordOutcome {
    }

    /**
     * A record that carries no usage for the join, or one that cannot be trusted to.
     *
     * @param detail for logs: names fields and numbers, never message content
     */
    record Skipped(SkipReason reason, String detail) implements RecordOutcome {
    }
}
