package dev.tokenmeter.bridge.mapping;

import dev.tokenmeter.usage.UsageRecord;

import java.util.ArrayList;
import java.util.List;

/**
 * OpenMeter's recommended LLM shape: one event per token type, {@code {"tokens": n, "model": m, "type": t}}, with
 * id {@code <requestId>:<type>} ({@code <requestId>:late:<type>} for a late correction). The types partition the total so a meter summing {@code tokens} over all types
 * gives total tokens and nothing is billed twice: input excludes cached prompt tokens (sent as cache_read) and
 * output excludes reasoning tokens (sent as reasoning). Zero counts are not sent.
 */
public final class PerTokenTypeEventMapper implements EventMapper {

    private final EventSettings settings;

    public PerTokenTypeEventMapper(EventSettings settings) {
        this.settings = settings;
    }

    @Override
    public List<OutgoingEvent> map(Billable billable) {
        UsageRecord r = billable.record();
        List<OutgoingEvent> events = new ArrayList<>(4);
        add(events, billable.idBase(), r, "input", r.promptTokens() - r.cachedTokens());
        add(events, billable.idBase(), r, "output", r.completionTokens() - r.reasoningTokens());
        add(events, billable.idBase(), r, "cache_read", r.cachedTokens());
        add(events, billable.idBase(), r, "reasoning", r.reasoningTokens());
        return events;
    }

    private void add(List<OutgoingEvent> events, String idBase, UsageRecord r, String type, long tokens) {
        if (tokens <= 0) {
            return;
        }
        events.add(CloudEventWriter.write(idBase + ":" + type, settings.sourceFor(r), settings.type(),
                r.userId(), r.timestamp(), data -> {
                    data.writeNumberField("tokens", tokens);
                    data.writeStringField("model", modelOf(r));
                    data.writeStringField("type", type);
                    if (r.deployment() != null) {
                        data.writeStringField("deployment", r.deployment());
                    }
                }));
    }

    // the model the service reported; streamed and failed requests have none, so the deployment stands in
    private static String modelOf(UsageRecord r) {
        if (r.model() != null) {
            return r.model();
        }
        return r.deployment() != null ? r.deployment() : "unknown";
    }
}
