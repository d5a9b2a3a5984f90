package dev.tokenmeter.bridge.deadletter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Base64;

/**
 * The one JSON form of a dead letter, shared by every store and by the tools that read them back: the reason, the
 * source position, the original bytes (base64, always exact; also as text when they are valid UTF-8, for people)
 * and, for rejected events, the event.
 */
public final class DeadLetterJson {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private DeadLetterJson() {
    }

    /** One line of JSON, without its newline. Streamed, not built as a tree: a burst of bad records writes many. */
    public static byte[] encode(DeadLetter letter) throws IOException {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream(letter.original().length * 3 + 256);
        try (com.fasterxml.jackson.core.JsonGenerator json = MAPPER.getFactory().createGenerator(bytes)) {
            json.writeStartObject();
            json.writeStringField("at", letter.at().toString());
            json.writeStringField("reason", letter.reason().label());
            json.writeStringField("detail", letter.detail());
            json.writeStringField("partition", letter.partition());
            json.writeStringField("position", letter.position());
            json.writeStringField("request_id", letter.requestId());
            json.writeStringField("original_base64", Base64.getEncoder().encodeToString(letter.original()));
            String text = utf8OrNull(letter.original());
            if (text != null) {
                json.writeStringField("original_text", text);
            }
            if (letter.event() != null) {
                json.writeFieldName("event");
                json.writeTree(MAPPER.readTree(letter.event()));
            }
            json.writeEndObject();
        }
        return bytes.toByteArray();
    }

    /**
     * Reads back what {@link #encode} wrote.
     *
     * @throws IllegalArgumentException naming the field that is missing or wrong
     */
    public static DeadLetter decode(byte[] json) {
        JsonNode node;
        try {
            node = MAPPER.readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new IllegalArgumentException("not JSON: " + e.getMessage());
        }
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("not a JSON object");
        }
        Instant at;
        try {
            at = Instant.parse(required(node, "at"));
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("'at' is not an ISO-8601 instant: " + node.get("at").asText());
        }
        DeadLetter.Reason reason = DeadLetter.Reason.fromLabel(required(node, "reason"));
        byte[] original;
        try {
            original = Base64.getDecoder().decode(required(node, "original_base64"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'original_base64' is not base64");
        }
        JsonNode event = node.get("event");
        try {
            return new DeadLetter(at, reason, text(node, "detail"), text(node, "partition"), text(node, "position"),
                    text(node, "request_id"), original,
                    event == null || event.isNull() ? null : MAPPER.writeValueAsBytes(event));
        } catch (IOException e) {
            throw new IllegalArgumentException("'event' cannot be read: " + e.getMessage());
        }
    }

    private static String required(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || !value.isTextual()) {
            throw new IllegalArgumentException("'" + field + "' is missing or not a string");
        }
        return value.asText();
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }

    private static String utf8OrNull(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
