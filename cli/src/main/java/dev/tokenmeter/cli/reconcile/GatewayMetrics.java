package dev.tokenmeter.cli.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.cli.CliFailure;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What the gateway saw: the token metrics the policies emit (azure-openai-emit-token-metric and
 * llm-emit-token-metric, fragments tokenmeter-token-metrics*), read from the Log Analytics workspace behind the
 * workspace-based Application Insights component. There custom metrics are rows of the {@code AppMetrics} table
 * (Name, Sum, Properties with the custom dimensions); {@code customMetrics} is the classic Application Insights name
 * of the same data, which the Log Analytics query API on a workspace does not know.
 */
final class GatewayMetrics {

    /** The metric names the emit-token-metric policies write, and the dimension our fragments add for the deployment. */
    static final List<String> METRICS = List.of("Prompt Tokens", "Completion Tokens");
    static final String DEPLOYMENT_DIMENSION = "Deployment";

    private final MonitorClient client;
    private final String workspaceId;

    GatewayMetrics(MonitorClient client, String workspaceId) {
        this.client = client;
        this.workspaceId = workspaceId;
    }

    /** The KQL, with the period also in the query so the result does not depend on the timespan's rounding. */
    static String query(Instant from, Instant to) {
        return "AppMetrics\n"
                + "| where TimeGenerated >= datetime(" + from + ") and TimeGenerated < datetime(" + to + ")\n"
                + "| where Name in (\"" + String.join("\", \"", METRICS) + "\")\n"
                + "| summarize Tokens = sum(Sum) by Hour = bin(TimeGenerated, 1h), Deployment = tostring(Properties[\""
                + DEPLOYMENT_DIMENSION + "\"])\n"
                + "| order by Hour asc, Deployment asc";
    }

    Map<Slot, Long> read(Instant from, Instant to) {
        ObjectNode body = JsonNodeFactory.instance.objectNode().put("query", query(from, to)).put("timespan", from + "/" + to);
        String what = "querying the gateway's token metrics in workspace " + workspaceId;
        JsonNode result = client.post("/v1/workspaces/" + PlatformMetrics.enc(workspaceId) + "/query", body, what);
        if (result.hasNonNull("error")) {
            // a partial result: some rows may be missing, and a reconciliation over it would report false gaps
            throw new CliFailure(what + ": the query returned a partial result (" + result.path("error").path("code").asText()
                    + ": " + result.path("error").path("message").asText() + "); try a shorter --from/--to");
        }
        JsonNode table = result.path("tables").path(0);
        Map<String, Integer> column = new HashMap<>();
        for (int i = 0; i < table.path("columns").size(); i++) {
            column.put(table.path("columns").get(i).path("name").asText(), i);
        }
        for (String needed : List.of("Hour", "Deployment", "Tokens")) {
            if (!column.containsKey(needed)) {
                throw new CliFailure(what + ": the result has no column " + needed + " (columns: " + column.keySet() + ")");
            }
        }
        Map<Slot, Long> out = new HashMap<>();
        for (JsonNode row : table.path("rows")) {
            long tokens = Math.round(row.path(column.get("Tokens")).asDouble(0));
            if (tokens != 0) {
                out.merge(Slot.of(Instant.parse(row.path(column.get("Hour")).asText()), row.path(column.get("Deployment")).asText("")),
                        tokens, Long::sum);
            }
        }
        return out;
    }
}
