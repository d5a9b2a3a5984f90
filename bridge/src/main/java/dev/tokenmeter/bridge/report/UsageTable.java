package dev.tokenmeter.bridge.report;

import dev.tokenmeter.bridge.mapping.Billable;
import dev.tokenmeter.bridge.pipeline.DeliveryListener;
import dev.tokenmeter.usage.UsageRecord;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Tokens delivered per user and model, for the table printed at the end of a run. */
public final class UsageTable implements DeliveryListener {

    /** One row of the table. */
    public record Row(String user, String model, long requests, long prompt, long completion, long cached,
                      long reasoning, long total) {
    }

    private final Map<String, Map<String, long[]>> byUser = new TreeMap<>();
    private final Map<Billable.Basis, Long> bases = new java.util.EnumMap<>(Billable.Basis.class);

    /** Requests delivered by how their counts were established (late corrections counted on their own). */
    public synchronized long delivered(Billable.Basis basis) {
        return bases.getOrDefault(basis, 0L);
    }

    @Override
    public synchronized void delivered(Billable billed) {
        UsageRecord r = billed.record();
        bases.merge(billed.basis(), 1L, Long::sum);
        String model = r.model() != null ? r.model() : r.deployment() != null ? r.deployment() + " (deployment)" : "unknown";
        long[] sums = byUser.computeIfAbsent(r.userId(), u -> new TreeMap<>()).computeIfAbsent(model, m -> new long[6]);
        if (billed.basis() != Billable.Basis.LATE_CORRECTION) {
            sums[0]++;
        }
        sums[1] += r.promptTokens();
        sums[2] += r.completionTokens();
        sums[3] += r.cachedTokens();
        sums[4] += r.reasoningTokens();
        sums[5] += r.totalTokens();
    }

    public synchronized List<Row> rows() {
        List<Row> rows = new ArrayList<>();
        byUser.forEach((user, models) -> models.forEach((model, s) ->
                rows.add(new Row(user, model, s[0], s[1], s[2], s[3], s[4], s[5]))));
        return rows;
    }

    public void print(PrintStream out) {
        List<Row> rows = rows();
        String[] header = {"USER", "MODEL", "REQUESTS", "PROMPT", "COMPLETION", "CACHED", "REASONING", "TOTAL"};
        List<String[]> cells = new ArrayList<>();
        cells.add(header);
        long[] totals = new long[6];
        for (Row r : rows) {
            cells.add(new String[]{r.user(), r.model(), Long.toString(r.requests()), Long.toString(r.prompt()),
                    Long.toString(r.completion()), Long.toString(r.cached()), Long.toString(r.reasoning()),
                    Long.toString(r.total())});
            totals[0] += r.requests();
            totals[1] += r.prompt();
            totals[2] += r.completion();
            totals[3] += r.cached();
            totals[4] += r.reasoning();
            totals[5] += r.total();
        }
        cells.add(new String[]{"TOTAL", "", Long.toString(totals[0]), Long.toString(totals[1]),
                Long.toString(totals[2]), Long.toString(totals[3]), Long.toString(totals[4]), Long.toString(totals[5])});
        int[] width = new int[header.length];
        for (String[] row : cells) {
            for (int i = 0; i < row.length; i++) {
                width[i] = Math.max(width[i], row[i].length());
            }
        }
        for (String[] row : cells) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                // names left-aligned, numbers right-aligned
                String format = i < 2 ? "%-" + width[i] + "s" : "%" + width[i] + "s";
                line.append(String.format(format, row[i]));
                if (i < row.length - 1) {
                    line.append("  ");
                }
            }
            out.println(line.toString().stripTrailing());
        }
    }
}
