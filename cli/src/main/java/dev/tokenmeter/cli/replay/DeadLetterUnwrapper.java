package dev.tokenmeter.cli.replay;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.function.UnaryOperator;

/**
 * Turns a line of the bridge's dead letters back into the original record bytes it keeps (base64), so a dead-letter
 * directory can be replayed once its cause is fixed; any other line passes as it is (the core validates it).
 */
final class DeadLetterUnwrapper implements UnaryOperator<byte[]> {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private long unwrapped;

    @Override
    public byte[] apply(byte[] bytes) {
        String line = new String(bytes, StandardCharsets.UTF_8);
        if (line.contains("\"original_base64\"")) {
            try {
                JsonNode node = MAPPER.readTree(line);
                if (node.hasNonNull("original_base64") && node.has("reason")) {
                    unwrapped++;
                    return java.util.Base64.getDecoder().decode(node.get("original_base64").asText());
                }
            } catch (IOException | IllegalArgumentException e) {
                // not a dead letter after all: the core will judge the line itself
            }
        }
        return bytes;
    }

    long unwrapped() {
        return unwrapped;
    }
}
