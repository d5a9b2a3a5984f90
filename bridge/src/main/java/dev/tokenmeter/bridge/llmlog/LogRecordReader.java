package dev.tokenmeter.bridge.llmlog;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenmeter.bridge.join.JoinRowCodec;
import dev.tokenmeter.bridge.join.LlmUsage;

import java.time.Instant;
import java.util.List;

/**
 * Turns one resource log record into an {@link RecordOutcome}. APIM logs several GatewayLlmLogs rows per request:
 * message chunks (32 KB pieces of the request and response messages, with sequence numbers, no counts), one row
 * with the model and the counts, and probe rows with nothing. Only token-bearing rows (a model, or any count above
 * zero) become usage; a model with zero counts is kept, because it says the backend reported no usage (a stream
 * without {@code stream_options.include_usage}). The sequence number is never a key: which row carries the counts
 * is not something to rely on.
 */
final class LogRecordReader {

    static final String CATEGORY = "GatewayLlmLogs";
    /** The Log Analytics table the category lands in; its exports name it in {@code Type} and have no category. */
    static final String TABLE = "ApiManagementGatewayLlmLog";

    /** Fields only the LLM log has: a row with no category and no Type is an LLM log row if it has one of them. */
    private static final List<String> LLM_FIELDS = List.of("modelName", "deploymentName", "promptTokens",
            "completionTokens", "totalTokens", "promptCachedTokens", "isStreamCompletion", "sequenceNumber",
            "requestMessages", "responseMessages");
    /** Fields every resource log record has some of: a lone object with none of them is not a record. */
    private static final List<String> RECORD_FIELDS = List.of("time", "timeGenerated", "category", "type",
            "operationName", "resourceId", "_ResourceId", "correlationId", "properties", "metricName");

    private LogRecordReader() {
    }

    /** Whether a lone JSON object (a message that is not an envelope) is a log record at all. */
    static boolean looksLikeRecord(JsonNode object) {
        RecordFields fields = new RecordFields(object);
        return fields.hasAny(RECORD_FIELDS) || fields.hasAny(LLM_FIELDS);
    }

    static RecordOutcome read(JsonNode element) {
        if (!element.isObject()) {
            return new RecordOutcome.Skipped(SkipReason.NOT_A_RECORD,
                    RecordFields.kind(element) + ", not a log record object");
        }
        RecordFields f = new RecordFields(element);
        try {
            RecordOutcome.Skipped notLlm = notAnLlmLogRow(f);
            return notLlm != null ? notLlm : llmRow(f);
        } catch (RecordFields.Refusal refusal) {
            return refusal.outcome();
        }
    }

    private static RecordOutcome.Skipped notAnLlmLogRow(RecordFields f) {
        JsonNode metric = f.top("metricName");
        if (metric != null) {
            return new RecordOutcome.Skipped(SkipReason.METRIC, "metric " + RecordFields.clip(metric.asText()));
        }
        JsonNode category = f.top("category");
        if (category != null) {
            return category.isTextual() && category.textValue().equalsIgnoreCase(CATEGORY) ? null
                    : new RecordOutcome.Skipped(SkipReason.OTHER_CATEGORY,
                    "category " + RecordFields.clip(category.asText()));
        }
        JsonNode table = f.top("type");
        if (table != null) {
            return table.isTextual() && table.textValue().equalsIgnoreCase(TABLE) ? null
                    : new RecordOutcome.Skipped(SkipReason.OTHER_CATEGORY, "table " + RecordFields.clip(table.asText()));
        }
        return f.hasAny(LLM_FIELDS) ? null : new RecordOutcome.Skipped(SkipReason.OTHER_CATEGORY,
                "no category or Type, and none of the LLM log's fields");
    }

    private static RecordOutcome llmRow(RecordFields f) {
        String model = f.text("modelName");
        Long prompt = f.count("promptTokens");
        Long completion = f.count("completionTokens");
        Long total = f.count("totalTokens");
        Long cached = f.count("promptCachedTokens");
        boolean tokenBearing = model != null || positive(prompt) || positive(completion) || positive(total)
                || positive(cached);
        if (!tokenBearing) {
            return f.hasAny(List.of("requestMessages", "responseMessages"))
                    ? new RecordOutcome.Skipped(SkipReason.MESSAGE_CHUNK, "message content without model or counts")
                    : new RecordOutcome.Skipped(SkipReason.PROBE, "no model, counts or message content");
        }
        String correlationId = f.text("correlationId");
        if (correlationId == null) {
            return new RecordOutcome.Skipped(SkipReason.MISSING_FIELD, "token-bearing row without correlationId");
        }
        Instant time = f.time("time");
        if (time == null) {
            time = f.time("timeGenerated");
        }
        if (time == null) {
            return new RecordOutcome.Skipped(SkipReason.MISSING_FIELD, "token-bearing row without time or TimeGenerated");
        }
        long p = prompt == null ? 0 : prompt;
        long c = completion == null ? 0 : completion;
        // OpenAI's usage defines the total as the sum; a row that leaves it out still gets the right one
        long t = total != null ? total : p + c;
        LlmUsage usage = new LlmUsage(JoinRowCodec.canonical(correlationId), time, f.text("deploymentName"), model,
                f.text("apiVersion"), f.flag("isStreamCompletion"), p, c, t, cached, f.text("requestId"));
        // the codec's reader is the contract (id characters, lengths, cached <= prompt): only rows it takes back
        // leave the parser, so the bridge never refuses what the re-key stage published
        if (JoinRowCodec.read(JoinRowCodec.write(usage)) instanceof JoinRowCodec.Read.Invalid invalid) {
            return new RecordOutcome.Skipped(SkipReason.INVALID_FIELD, invalid.reason());
        }
        return new RecordOutcome.Usage(usage);
    }

    private static boolean positive(Long count) {
        return count != null && count > 0;
    }
}
