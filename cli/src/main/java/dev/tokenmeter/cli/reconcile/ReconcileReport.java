package dev.tokenmeter.cli.reconcile;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.OutputFormat;
import dev.tokenmeter.cli.Table;

import java.io.IOException;
import java.io.PrintWriter;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The reconciliation as a table for people, CSV or JSON for jobs; the caveats always go with it. */
final class ReconcileReport {

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** What the three counts cannot show by themselves; stated with every report. */
    static final List<String> CAVEATS = List.of(
            "AZURE counts every call the Azure OpenAI account served, also calls that did not pass API Management "
                    + "(its keys used directly, other applications, the portal's playground): AZURE above GATEWAY is such "
                    + "traffic; disable the account's key access or restrict its network to APIM to rule it out.",
            "Streamed calls are first billed from the gateway's estimate and joined with the exact counts of APIM's LLM "
                    + "log up to the bridge's join window later (default 20 min, plus 10 min for a late correction); "
                    + "ESTIMATED is what is still billed from an estimate, and the gateway's own token metrics are estimates "
                    + "for streamed responses too.",
            "Metric latency: platform metrics arrive minutes after the call, Application Insights custom metrics up to "
                    + "several minutes, OpenMeter after the bridge has delivered; hours that ended less than --settle ago "
                    + "are shown as recent and not judged.");

    private final Instant from;
    private final Instant to;
    private final String account;
    private final String workspace;
    private final Reconciliation.Result result;

    ReconcileReport(Instant from, Instant to, String account, String workspace, Reconciliation.Result result) {
        this.from = from;
        this.to = to;
        this.account = account;
        this.workspace = workspace;
        this.result = result;
    }

    void print(OutputFormat format, PrintWriter out, PrintWriter err) {
        switch (format) {
            case json:
                out.println(json());
                break;
            case csv:
                table(true).printCsv(out);
                // CSV stays one table for the machine; people reading the job's log still see the caveats
                CAVEATS.forEach(c -> err.println("note: " + c));
                break;
            default:
                if (result.rows().isEmpty()) {
                    out.println("No tokens in " + from + " to " + to + " in any of the three sources.");
                } else {
                    table(false).print(out);
                }
                out.println();
                summary().forEach(out::println);
                out.println();
                out.println("Caveats:");
                CAVEATS.forEach(c -> out.println("- " + c));
        }
        out.flush();
        err.flush();
    }

    private Table table(boolean csv) {
        Table t = new Table(csv
                ? List.of("hour", "deployment", "azure", "gateway", "billed", "exact", "estimated", "coverage_percent", "missing", "status")
                : List.of("HOUR (UTC)", "DEPLOYMENT", "AZURE", "GATEWAY", "BILLED", "EXACT", "ESTIMATED", "COVERAGE", "MISSING", "STATUS"));
        for (Reconciliation.Row r : result.rows()) {
            t.row(List.of(r.slot().hour().toString(), r.slot().deployment(), n(r.azure(), csv), n(r.gateway(), csv),
                    n(r.billed().total(), csv), n(r.billed().exact(), csv), n(r.billed().estimated(), csv),
                    r.coverage() == null ? "" : r.coverage().toPlainString() + (csv ? "" : "%"), n(r.missing(), csv),
                    r.status().name()));
        }
        if (!csv) {
            Billed b = result.billed();
            t.row(List.of("TOTAL", "", n(result.azure(), false), n(result.gateway(), false), n(b.total(), false),
                    n(b.exact(), false), n(b.estimated(), false), percent(b.total(), result.azure()),
                    n(result.missing(), false), ""));
        }
        return t;
    }

    private List<String> summary() {
        List<String> lines = new ArrayList<>();
        Billed b = result.billed();
        lines.add("From " + from + " to " + to + ": Azure OpenAI (" + account + ") processed " + n(result.azure(), false)
                + " tokens, the gateway saw " + n(result.gateway(), false) + " (workspace " + workspace + "), OpenMeter billed "
                + n(b.total(), false) + (b.exact() == null ? "" : " (" + n(b.exact(), false) + " exact, "
                + n(b.estimated(), false) + " estimated)") + "; coverage " + percent(b.total(), result.azure()) + ".");
        long recent = result.rows().stream().filter(r -> r.status() == Reconciliation.Status.recent).count();
        lines.add(result.flagged() == 0
                ? "Every settled hour is within " + result.tolerancePercent().toPlainString() + "% of Azure's count"
                + (recent == 0 ? "." : " (" + recent + " recent, not judged).")
                : result.flagged() + " hour(s) beyond " + result.tolerancePercent().toPlainString()
                + "% (gap: billed less than Azure counted; over: billed more)" + (recent == 0 ? "." : "; " + recent + " recent, not judged."));
        long bypass = result.azure() - result.gateway();
        long unbilled = result.gateway() - b.total();
        if (bypass != 0 || unbilled != 0) {
            lines.add("Of the difference: " + n(bypass, false) + " tokens Azure counted that the gateway did not see "
                    + "(calls around APIM, or metrics not emitted); " + n(unbilled, false)
                    + " the gateway saw that were not billed (usage records not delivered: see the bridge's dead letters).");
        }
        return lines;
    }

    private String json() {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("from", from.toString()).put("to", to.toString()).put("openaiAccount", account).put("workspaceId", workspace)
                .put("tolerancePercent", result.tolerancePercent()).put("settledBefore", result.settledBefore().toString());
        ArrayNode rows = root.putArray("rows");
        for (Reconciliation.Row r : result.rows()) {
            ObjectNode o = rows.addObject().put("hour", r.slot().hour().toString()).put("deployment", r.slot().deployment())
                    .put("azureTokens", r.azure()).put("gatewayTokens", r.gateway()).put("billedTokens", r.billed().total());
            counts(o, r.billed());
            o.put("missingTokens", r.missing());
            if (r.coverage() == null) {
                o.putNull("coveragePercent");
            } else {
                o.put("coveragePercent", r.coverage());
            }
            o.put("status", r.status().name());
        }
        ObjectNode totals = root.putObject("totals").put("azureTokens", result.azure()).put("gatewayTokens", result.gateway())
                .put("billedTokens", result.billed().total());
        counts(totals, result.billed());
        totals.put("missingTokens", result.missing()).put("flaggedHours", result.flagged());
        ArrayNode caveats = root.putArray("caveats");
        CAVEATS.forEach(caveats::add);
        try {
            return MAPPER.writeValueAsString(root);
        } catch (IOException e) {
            throw new CliFailure("cannot write the report as JSON: " + e.getMessage());
        }
    }

    private static void counts(ObjectNode o, Billed b) {
        if (b.exact() == null) {
            o.putNull("exactTokens").putNull("estimatedTokens");
        } else {
            o.put("exactTokens", b.exact()).put("estimatedTokens", b.estimated());
        }
    }

    private static String percent(long part, long whole) {
        return whole == 0 ? "" : BigDecimal.valueOf(part).multiply(BigDecimal.valueOf(100))
                .divide(BigDecimal.valueOf(whole), 1, java.math.RoundingMode.HALF_UP).toPlainString() + "%";
    }

    /** Counts: plain for machines, thousands grouped with a comma for people, the same in every locale. */
    private static String n(Long v, boolean csv) {
        if (v == null) {
            return "";
        }
        return csv ? Long.toString(v) : String.format(Locale.ROOT, "%,d", v);
    }
}
