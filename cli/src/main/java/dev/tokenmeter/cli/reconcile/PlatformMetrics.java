package dev.tokenmeter.cli.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenmeter.cli.CliFailure;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What Azure OpenAI itself counted: the account's platform metrics ProcessedPromptTokens (input) and GeneratedTokens
 * (output), Total per hour, split by ModelDeploymentName, from the Azure Monitor Metrics API (api-version 2023-10-01).
 */
final class PlatformMetrics {

    static final String API_VERSION = "2023-10-01";
    static final List<String> METRICS = List.of("ProcessedPromptTokens", "GeneratedTokens");
    static final String DIMENSION = "ModelDeploymentName";
    /** A split returns 10 series unless told otherwise; an account with more deployments would lose some silently. */
    static final int TOP = 1000;

    private final MonitorClient client;
    private final String account;

    PlatformMetrics(MonitorClient client, String account) {
        this.client = client;
        this.account = account;
    }

    Map<Slot, Long> read(Instant from, Instant to) {
        String query = "?api-version=" + API_VERSION
                + "&metricnamespace=" + enc("Microsoft.CognitiveServices/accounts")
                + "&metricnames=" + enc(String.join(",", METRICS))
                + "&aggregation=Total&interval=PT1H"
                + "&timespan=" + enc(from + "/" + to)
                + "&" + enc("$filter") + "=" + enc(DIMENSION + " eq '*'")
                + "&top=" + TOP;
        JsonNode body = client.get(account + "/providers/Microsoft.Insights/metrics" + query,
                "reading " + String.join(" and ", METRICS) + " of " + account);
        Map<Slot, Long> out = new HashMap<>();
        for (JsonNode metric : body.path("value")) {
            String name = metric.path("name").path("value").asText();
            String error = metric.path("errorCode").asText("Success");
            if (!error.equals("Success")) {
                throw new CliFailure("Azure Monitor could not give metric " + name + " of " + account + ": " + error + " ("
                        + metric.path("errorMessage").asText("no message") + ")");
            }
            if (metric.path("timeseries").size() >= TOP) {
                throw new CliFailure("metric " + name + " of " + account + " has " + TOP
                        + " deployments or more, more than one query returns: reconcile a shorter period per account");
            }
            for (JsonNode series : metric.path("timeseries")) {
                String deployment = null;
                for (JsonNode meta : series.path("metadatavalues")) {
                    // the service answers dimension names in lower case (Microsoft's example does)
                    if (meta.path("name").path("value").asText().equalsIgnoreCase(DIMENSION)) {
                        deployment = meta.path("value").asText();
                    }
                }
                for (JsonNode point : series.path("data")) {
                    long total = Math.round(point.path("total").asDouble(0));
                    if (total != 0) {
                        out.merge(Slot.of(Instant.parse(point.path("timeStamp").asText()), deployment), total, Long::sum);
                    }
                }
            }
        }
        return out;
    }

    /** Query values percent-encoded, a space as %20 (not the form encoding's +). */
    static String enc(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
