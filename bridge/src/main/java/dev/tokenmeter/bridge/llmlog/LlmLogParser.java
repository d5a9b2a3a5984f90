package dev.tokenmeter.bridge.llmlog;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Reads APIM's LLM log (diagnostic category {@code GatewayLlmLogs}) as it arrives in the diagnostic hub or in a
 * file export, and says for each log record whether it is an {@code llm_usage} row or why not. Pure and
 * thread-safe; never throws, whatever the bytes.
 *
 * <p>Message shapes: Azure Monitor's Event Hubs envelope {@code {"records": [...]}}, a bare array of records, or
 * one record (a line of a JSON Lines export). Records are Event Hubs rows (camelCase fields under
 * {@code properties}, {@code correlationId} at the top or in properties) or Log Analytics rows of table
 * {@code ApiManagementGatewayLlmLog} (flat PascalCase, {@code TimeGenerated}); keys match in any case. The same
 * message twice gives the same rows twice: removing duplicates is the join's job.
 */
public final class LlmLogParser {

    /** Resource log records are shallow; a bound keeps hostile nesting from costing stack or time. */
    static final int MAX_NESTING = 200;

    private final ObjectMapper json = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_NESTING).build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    public ParsedMessage parse(byte[] message) {
        try {
            return parseOrThrow(message);
        } catch (RuntimeException e) {
            // a bug here must cost one message (kept as a dead letter), not the stage
            return new ParsedMessage.Unparseable("could not be read: " + e);
        }
    }

    private ParsedMessage parseOrThrow(byte[] message) {
        if (message == null || isBlank(message)) {
            return new ParsedMessage.Unparseable("empty message");
        }
        JsonNode root;
        try {
            root = json.readTree(message);
        } catch (StreamConstraintsException e) {
            return new ParsedMessage.Unparseable("not a resource log message: " + e.getOriginalMessage());
        } catch (JsonProcessingException e) {
            return new ParsedMessage.Unparseable("not JSON: " + shorten(e.getOriginalMessage())
                    + (e.getLocation() == null ? "" : " at byte " + e.getLocation().getByteOffset()));
        } catch (IOException e) {
            return new ParsedMessage.Unparseable("not JSON: " + e.getMessage());
        }
        if (root.isArray()) {
            return records(root);
        }
        if (!root.isObject()) {
            return new ParsedMessage.Unparseable("the message is " + RecordFields.kind(root)
                    + ", not {\"records\": [...]}, an array of records or a record");
        }
        JsonNode envelope = field(root, "records");
        if (envelope != null) {
            return envelope.isArray() ? records(envelope)
                    : new ParsedMessage.Unparseable("records is " + RecordFields.kind(envelope) + ", not an array");
        }
        if (LogRecordReader.looksLikeRecord(root)) {
            return new ParsedMessage.Records(List.of(LogRecordReader.read(root)));
        }
        return new ParsedMessage.Unparseable("a JSON object that is neither {\"records\": [...]} nor a resource log "
                + "record (none of time, category, properties, correlationId, ... nor an LLM log field)");
    }

    private static ParsedMessage.Records records(JsonNode array) {
        List<RecordOutcome> outcomes = new ArrayList<>(array.size());
        for (JsonNode element : array) {
            outcomes.add(LogRecordReader.read(element));
        }
        return new ParsedMessage.Records(outcomes);
    }

    private static JsonNode field(JsonNode object, String name) {
        for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equalsIgnoreCase(name)) {
                return e.getValue();
            }
        }
        return null;
    }

    /** Jackson's messages quote the offending input; a dead letter's detail needs the gist, not pages of it. */
    private static String shorten(String message) {
        return message.length() <= 200 ? message : message.substring(0, 200) + "...";
    }

    private static boolean isBlank(byte[] bytes) {
        for (byte b : bytes) {
            if (b != ' ' && b != '\t' && b != '\r' && b != '\n') {
                return false;
            }
        }
        return true;
    }
}
