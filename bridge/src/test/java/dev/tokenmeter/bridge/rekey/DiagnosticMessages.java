package dev.tokenmeter.bridge.rekey;

import dev.tokenmeter.bridge.join.JoinRowCodec;
import dev.tokenmeter.bridge.join.LlmUsage;
import dev.tokenmeter.bridge.llmlog.LlmLogParser;
import dev.tokenmeter.bridge.llmlog.ParsedMessage;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Diagnostic-hub messages in the reconstructed Event Hubs shape (see {@code src/test/resources/llmlog/README.md}):
 * message {@code i} holds a message chunk, the token row and a GatewayLogs row for request {@code id(i)}, whose id
 * is upper case in odd messages; every 50th message has a second request; a few are not JSON at all.
 */
final class DiagnosticMessages {

    private DiagnosticMessages() {
    }

    static String id(int i) {
        return String.format(Locale.ROOT, "%08x-7d6a-4e21-9b0f-%012x", i, i);
    }

    static boolean unparseable(int i) {
        return i % 100 == 37;
    }

    static byte[] message(int i) {
        if (unparseable(i)) {
            return ("not a diagnostic message " + i).getBytes(StandardCharsets.UTF_8);
        }
        String id = i % 2 == 1 ? id(i).toUpperCase(Locale.ROOT) : id(i);
        String time = Instant.parse("2026-11-27T10:00:00Z").plusSeconds(i).toString();
        StringBuilder records = new StringBuilder();
        records.append(chunk(id, time)).append(',').append(tokens(id, time, i)).append(',').append(gatewayLog(id, time));
        if (i % 50 == 0) {
            records.append(',').append(tokens("extra-" + id, time, i + 1));
        }
        return ("{\"records\":[" + records + "]}").getBytes(StandardCharsets.UTF_8);
    }

    private static String chunk(String id, String time) {
        return "{\"time\":\"" + time + "\",\"category\":\"GatewayLlmLogs\",\"correlationId\":\"" + id
                + "\",\"properties\":{\"deploymentName\":\"gpt-4o\",\"sequenceNumber\":0,"
                + "\"requestMessages\":[{\"role\":\"user\",\"content\":\"hello\"}]}}";
    }

    private static String tokens(String id, String time, int i) {
        int prompt = 10 + i;
        int completion = i % 7;
        return "{\"time\":\"" + time + "\",\"category\":\"GatewayLlmLogs\",\"correlationId\":\"" + id
                + "\",\"properties\":{\"deploymentName\":\"gpt-4o\",\"modelName\":\"gpt-4o-2024-08-06\","
                + "\"apiVersion\":\"2024-10-21\",\"isStreamCompletion\":true,\"promptTokens\":" + prompt
                + ",\"completionTokens\":" + completion + ",\"totalTokens\":" + (prompt + completion)
                + ",\"requestId\":\"chatcmpl-" + i + "\",\"sequenceNumber\":1}}";
    }

    private static String gatewayLog(String id, String time) {
        return "{\"time\":\"" + time + "\",\"category\":\"GatewayLogs\",\"correlationId\":\"" + id
                + "\",\"properties\":{\"method\":\"POST\",\"responseCode\":200}}";
    }

    /** A row the usage topic must receive: its record key and value. */
    record Row(String key, String value) {
    }

    /** The llm_usage rows messages {@code from} to {@code to - 1} must give, as the parser reads them. */
    static List<Row> expectedRows(int from, int to) {
        LlmLogParser parser = new LlmLogParser();
        List<Row> rows = new ArrayList<>();
        for (int i = from; i < to; i++) {
            if (parser.parse(message(i)) instanceof ParsedMessage.Records records) {
                for (LlmUsage usage : records.usages()) {
                    rows.add(new Row(usage.correlationId(),
                            new String(JoinRowCodec.write(usage), StandardCharsets.UTF_8)));
                }
            }
        }
        return rows;
    }
}
