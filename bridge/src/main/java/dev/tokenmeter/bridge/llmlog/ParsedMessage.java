package dev.tokenmeter.bridge.llmlog;

import dev.tokenmeter.bridge.join.LlmUsage;

import java.util.List;

/** What one diagnostic-hub message (or one line of a file export) came to. */
public sealed interface ParsedMessage {

    /** The message has a known shape; one outcome per log record in it, in message order. */
    record Records(List<RecordOutcome> records) implements ParsedMessage {

        public Records {
            records = List.copyOf(records);
        }

        /** The token-bearing rows, in message order. */
        public List<LlmUsage> usages() {
            return records.stream()
                    .filter(RecordOutcome.Usage.class::isInstance)
                    .map(r -> ((RecordOutcome.Usage) r).usage())
                    .toList();
        }
    }

    /** Not JSON, or JSON of no known shape: the caller keeps the bytes as a dead letter. */
    record Unparseable(String reason) implements ParsedMessage {
    }
}
