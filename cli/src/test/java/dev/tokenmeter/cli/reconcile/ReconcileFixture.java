package dev.tokenmeter.cli.reconcile;

import dev.tokenmeter.testkit.AzureMonitorContractServer;
import dev.tokenmeter.testkit.AzureMonitorContractServer.LogTable;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import dev.tokenmeter.testkit.OpenMeterContractServer.Reply;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Three sources seeded with one story, hour by hour: what Azure OpenAI's platform metrics say, what the gateway's
 * token metrics in the workspace say, and what OpenMeter's meters hold, split by usage_source.
 */
final class ReconcileFixture {

    static final String ACCOUNT = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-ai"
            + "/providers/Microsoft.CognitiveServices/accounts/aoai-contoso";
    static final String WORKSPACE = "6f1c2b9e-1111-4000-8000-00000000abcd";

    private final AzureMonitorContractServer azure;
    private final List<List<Object>> gatewayRows = new ArrayList<>();
    /** meter field -> rows of the meter query answer */
    private final Map<String, List<String>> meterRows = new ConcurrentHashMap<>();

    ReconcileFixture(AzureMonitorContractServer azure, OpenMeterContractServer openmeter) {
        this.azure = azure;
        azure.onQuery(WORKSPACE, query -> new LogTable(List.of(new LogTable.Column("Hour", "datetime"),
                new LogTable.Column("Deployment", "string"), new LogTable.Column("Tokens", "real")), gatewayRows));
        for (String field : List.of("prompt_tokens", "completion_tokens")) {
            meterRows.put(field, new java.util.concurrent.CopyOnWriteArrayList<>());
            openmeter.route("GET", "/api/v1/meters/tokenmeter_" + field + "/query", r -> Reply.json(200,
                    "{\"windowSize\":\"HOUR\",\"data\":[" + String.join(",", meterRows.get(field)) + "]}"));
        }
    }

    /** Azure's platform metrics for one hour, as two per-minute points each (a real account reports per minute). */
    ReconcileFixture azure(String hour, String deployment, long prompt, long generated) {
        Instant h = Instant.parse(hour);
        azure.metric(ACCOUNT, "ProcessedPromptTokens", deployment, h.plusSeconds(60), prompt - prompt / 2)
                .metric(ACCOUNT, "ProcessedPromptTokens", deployment, h.plusSeconds(1800), prompt / 2)
                .metric(ACCOUNT, "GeneratedTokens", deployment, h.plusSeconds(61), generated);
        return this;
    }

    /** The gateway's token metrics for one hour (prompt plus completion), as the KQL's summarize returns them. */
    ReconcileFixture gateway(String hour, String deployment, long tokens) {
        gatewayRows.add(List.of(hour, deployment, (double) tokens));
        return this;
    }

    /** What OpenMeter billed in one hour for one usage_source. */
    ReconcileFixture billed(String hour, String deployment, String usageSource, long prompt, long completion) {
        String end = Instant.parse(hour).plusSeconds(3600).toString();
        meterRows.get("prompt_tokens").add(row(hour, end, deployment, usageSource, prompt));
        meterRows.get("completion_tokens").add(row(hour, end, deployment, usageSource, completion));
        return this;
    }

    private static String row(String start, String end, String deployment, String source, long value) {
        return "{\"value\":" + value + ",\"windowStart\":\"" + start + "\",\"windowEnd\":\"" + end
                + "\",\"groupBy\":{\"deployment\":\"" + deployment + "\",\"usage_source\":\"" + source + "\"}}";
    }

    /**
     * A day with one known gap: 600 tokens of gpt-4o at 11:00 the gateway saw but OpenMeter never got (lost
     * records); everything else within 1% (gpt-4o-mini at 10:00 is 0.5% short: inside the tolerance).
     */
    ReconcileFixture dayWithOneGap() {
        return azure("2026-11-01T10:00:00Z", "gpt-4o", 1_000, 500)
                .gateway("2026-11-01T10:00:00Z", "gpt-4o", 1_500)
                .billed("2026-11-01T10:00:00Z", "gpt-4o", "reported", 700, 300)
                .billed("2026-11-01T10:00:00Z", "gpt-4o", "joined", 200, 100)
                .billed("2026-11-01T10:00:00Z", "gpt-4o", "estimated", 100, 100)
                .azure("2026-11-01T11:00:00Z", "gpt-4o", 2_000, 1_000)
                .gateway("2026-11-01T11:00:00Z", "gpt-4o", 3_000)
                .billed("2026-11-01T11:00:00Z", "gpt-4o", "reported", 1_600, 800)
                .billed("2026-11-01T11:00:00Z", "gpt-4o", "none", 0, 0)
                .azure("2026-11-01T10:00:00Z", "gpt-4o-mini", 800, 200)
                .gateway("2026-11-01T10:00:00Z", "gpt-4o-mini", 1_000)
                .billed("2026-11-01T10:00:00Z", "gpt-4o-mini", "reported", 795, 200);
    }
}
