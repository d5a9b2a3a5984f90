package dev.tokenmeter.bridge.mapping;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.usage.UsageRecord;

import java.util.List;

/** One event per request: id = request id, subject = user, data = every count plus the dimensions to group by. */
public final class RequestEventMapper implements EventMapper {

    private final EventSettings settings;

    public RequestEventMapper(EventSettings settings) {
        this.settings = settings;
    }

    @Override
    public List<OutgoingEvent> map(UsageRecord r) {
        ObjectNode data = CloudEventWriter.newData();
        data.put("prompt_tokens", r.promptTokens());
        data.put("completion_tokens", r.completionTokens());
        data.put("total_tokens", r.totalTokens());
        data.put("cached_tokens", r.cachedTokens());
        data.put("reasoning_tokens", r.reasoningTokens());
        putIfPresent(data, "model", r.model());
        putIfPresent(data, "deployment", r.deployment());
        putIfPresent(data, "api", r.apiId());
        putIfPresent(data, "operation", r.operationId());
        putIfPresent(data, "product", r.productId());
        putIfPresent(data, "subscription", r.subscriptionId());
        data.put("stream", r.stream());
        data.put("usage_source", r.usageSource());
        return List.of(CloudEventWriter.write(r.requestId(), settings.sourceFor(r), settings.type(), r.userId(),
                r.timestamp(), data));
    }

    // absent dimensions are left out rather than sent as null, so a meter's group-by never sees a "null" group
    private static void putIfPresent(ObjectNode data, String field, String value) {
        if (value != null) {
            data.put(field, value);
        }
    }
}
