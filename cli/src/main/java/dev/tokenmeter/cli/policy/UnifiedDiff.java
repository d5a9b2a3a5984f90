package dev.tokenmeter.cli.policy;

import java.util.ArrayList;
import java.util.List;

/** A unified diff (three lines of context) of two texts, computed from their longest common subsequence of lines. */
final class UnifiedDiff {
    private static final int CONTEXT = 3;

    private UnifiedDiff() {
    }

    static String of(String fromName, String from, String toName, String to) {
        List<String> a = from.isEmpty() ? List.of() : List.of(from.split("\n", -1));
        List<String> b = to.isEmpty() ? List.of() : List.of(to.split("\n", -1));
        int[][] lcs = new int[a.size() + 1][b.size() + 1];
        for (int i = a.size() - 1; i >= 0; i--) {
            for (int j = b.size() - 1; j >= 0; j--) {
                lcs[i][j] = a.get(i).equals(b.get(j)) ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
            }
        }
        // edit script: ' ' keep, '-' from a, '+' from b, with the line numbers each side had
        record Edit(char op, String line, int ai, int bi) {
        }
        List<Edit> edits = new ArrayList<>();
        int i = 0;
        int j = 0;
        while (i < a.size() || j < b.size()) {
            if (i < a.size() && j < b.size() && a.get(i).equals(b.get(j))) {
                edits.add(new Edit(' ', a.get(i), i++, j++));
            } else if (i < a.size() && (j == b.size() || lcs[i + 1][j] >= lcs[i][j + 1])) {
                edits.add(new Edit('-', a.get(i), i++, j));
            } else {
                edits.add(new Edit('+', b.get(j), i, j++));
            }
        }
        StringBuilder out = new StringBuilder("--- ").append(fromName).append("\n+++ ").append(toName).append('\n');
        int k = 0;
        while (k < edits.size()) {
            if (edits.get(k).op() == ' ') {
                k++;
                continue;
            }
            int start = Math.max(0, k - CONTEXT);
            int end = k;
            // extend the hunk while changes are closer than twice the context
            while (end < edits.size()) {
                if (edits.get(end).op() != ' ') {
                    end++;
                    continue;
                }
                int run = end;
                while (run < edits.size() && edits.get(run).op() == ' ') {
                    run++;
                }
                if (run < edits.size() && run - end <= 2 * CONTEXT) {
                    end = run;
                } else {
                    end = Math.min(edits.size(), end + CONTEXT);
                    break;
                }
            }
            int aCount = 0;
            int bCount = 0;
            for (int e = start; e < end; e++) {
                aCount += edits.get(e).op() != '+' ? 1 : 0;
                bCount += edits.get(e).op() != '-' ? 1 : 0;
            }
            Edit first = edits.get(start);
            out.append("@@ -").append(aCount == 0 ? first.ai() : first.ai() + 1).append(',').append(aCount)
                    .append(" +").append(bCount == 0 ? first.bi() : first.bi() + 1).append(',').append(bCount)
                    .append(" @@\n");
            for (int e = start; e < end; e++) {
                out.append(edits.get(e).op()).append(edits.get(e).line()).append('\n');
            }
            k = end;
        }
        return out.toString();
    }
}
