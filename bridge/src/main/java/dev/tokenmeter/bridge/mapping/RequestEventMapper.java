package dev.tokenmeter.bridge.mapping;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.tokenmeter.usage.UsageRecord;

import java.util.List;

/**
 * One event per request: id = request id ({@code <request id>:late} for a late correction), subject = user, data =
 * every count plus the dimensions to group by, how the counts were established ({@code usage_source}) and, for an
 * estimate billed although exact usage was expected, why ({@code estimate_reason}).
 */
public final class RequestEventMapper implements EventMapper {

    private final EventSettings settings;

    public RequestEventMapper(EventSettings settings) {
        this.settings = settings;
    }

    @Override
    public List<OutgoingEvent> map(Billable billable) {
        UsageRecord r = billable.record();
        return List.of(CloudEventWriter.write(billable.idBase(), settings.sourceFor(r), settings.type(), r.userId(),
                r.timestamp(), data -> {
                    data.writeNumberField("prompt_tokens", r.promptTokens());
                    data.writeNumberField("completion_tokens", r.completionTokens());
                    data.writeNumberField("total_tokens", r.totalTokens());
                    data.writeNumberField("cached_tokens", r.cachedTokens());
                    data.writeNumberField("reasoning_tokens", r.reasoningTokens());
                    writeIfPresent(data, "model", r.model());
                    writeIfPresent(data, "deployment", r.deployment());
                    writeIfPresent(data, "api", r.apiId());
                    writeIfPresent(data, "operation", r.operationId());
                    writeIfPresent(data, "product", r.productId());
                    writeIfPresent(data, "subscription", r.subscriptionId());
                    data.writeBooleanField("stream", r.stream());
                    data.writeStringField("usage_source", billable.basis().label());
                    if (billable.estimateReason() != null) {
                        data.writeStringField("estimate_reason", billable.estimateReason().label());
                    }
                }));
    }

    // absent dimensions are left out rather than sent as null, so a meter's group-by never sees a "null" group
    private static void writeIfPresent(JsonGenerator data, String field, String value) throws java.io.IOException {
        if (value != null) {
            data.writeStringField(field, value);
        }
    }
}
