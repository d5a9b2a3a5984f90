package dev.tokenmeter.cli.deadletters;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenmeter.bridge.deadletter.DeadLetterArchive;

import java.io.IOException;

/** What an operator reads of a letter: its own fields, plus the user when its original record names one. */
record LetterView(String at, String reason, String requestId, String user, String partition, String position,
                  String detail, String location) {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    static LetterView of(DeadLetterArchive.Stored stored) {
        var l = stored.letter();
        return new LetterView(l.at().toString(), l.reason().label(), l.requestId(), userOf(l.original()), l.partition(),
                l.position(), l.detail(), stored.location());
    }

    /** The record's user_id when the original is JSON that has one; an invalid record may well not. */
    private static String userOf(byte[] original) {
        try {
            JsonNode node = MAPPER.readTree(original);
            JsonNode user = node == null ? null : node.get("user_id");
            return user != null && user.isTextual() ? user.asText() : null;
        } catch (IOException e) {
            return null;
        }
    }

    static String orDash(String value) {
        return value == null || value.isEmpty() ? "-" : value;
    }
}
