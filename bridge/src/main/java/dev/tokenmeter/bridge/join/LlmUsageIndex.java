package dev.tokenmeter.bridge.join;

import java.util.HashMap;
import java.util.Map;

/**
 * Every LLM log row of a backfill, by canonical request id, for joining a whole input at once (file mode and
 * replay with {@code --llm-logs}): no window, since all rows are known before the first record is read. The first
 * row with counts for an id wins; later ones are counted as duplicates or conflicts.
 */
public final class LlmUsageIndex {

    private final Map<String, LlmUsage> rows = new HashMap<>();
    private long duplicates;
    private long conflicts;

    public void add(LlmUsage row) {
        LlmUsage first = rows.get(row.correlationId());
        if (first == null || !first.hasUsage() && row.hasUsage()) {
            rows.put(row.correlationId(), row);
        } else if (first.promptTokens() == row.promptTokens() && first.completionTokens() == row.completionTokens()
                && first.totalTokens() == row.totalTokens()) {
            duplicates++;
        } else {
            conflicts++;
        }
    }

    /** The row for a canonical request id, or null. */
    public LlmUsage get(String canonicalId) {
        return rows.get(canonicalId);
    }

    public int size() {
        return rows.size();
    }

    public long duplicates() {
        return duplicates;
    }

    public long conflicts() {
        return conflicts;
    }
}
