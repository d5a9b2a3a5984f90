package dev.tokenmeter.cli.replay;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenmeter.bridge.pipeline.Pipeline;
import dev.tokenmeter.bridge.pipeline.Position;
import dev.tokenmeter.bridge.pipeline.SourceRecord;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;

/**
 * Feeds JSONL files into the bridge core: usage records as they are, and the bridge's dead letters unwrapped to the
 * original record bytes they keep (base64), so a dead-letter directory can be replayed once its cause is fixed.
 * Each file is a partition, its line number the position.
 */
final class ReplayReader {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private long records;
    private long unwrapped;

    void feed(Path input, Pipeline pipeline) throws IOException, InterruptedException {
        List<Path> files;
        if (Files.isDirectory(input)) {
            try (Stream<Path> walk = Files.walk(input)) {
                files = walk.filter(Files::isRegularFile)
                        .filter(p -> p.toString().endsWith(".jsonl") || p.toString().endsWith(".json")).sorted().toList();
            }
        } else {
            files = List.of(input);
        }
        for (Path file : files) {
            String partition = Files.isDirectory(input) ? input.relativize(file).toString() : file.getFileName().toString();
            try (InputStream in = Files.newInputStream(file)) {
                feed(partition, in, pipeline);
            }
        }
    }

    void feed(String partition, InputStream raw, Pipeline pipeline) throws IOException, InterruptedException {
        // lines are kept as bytes: a record that is not valid UTF-8 must reach the core (and its dead letters) as it was
        BufferedInputStream in = new BufferedInputStream(raw, 64 * 1024);
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        long lineNumber = 0;
        for (int b = in.read(); ; b = in.read()) {
            if (b != '\n' && b != -1) {
                line.write(b);
                continue;
            }
            if (b == -1 && line.size() == 0) {
                return;
            }
            lineNumber++;
            byte[] bytes = line.toByteArray();
            line.reset();
            if (bytes.length > 0 && bytes[bytes.length - 1] == '\r') {
                bytes = Arrays.copyOf(bytes, bytes.length - 1);
            }
            if (!new String(bytes, StandardCharsets.ISO_8859_1).isBlank()) {
                records++;
                pipeline.submit(new SourceRecord(partition, Position.of(lineNumber), original(bytes)));
            }
            if (b == -1) {
                return;
            }
        }
    }

    /** A dead letter's original bytes; any other line as it is (the core validates it). */
    private byte[] original(byte[] bytes) {
        String line = new String(bytes, StandardCharsets.UTF_8);
        if (line.contains("\"original_base64\"")) {
            try {
                JsonNode node = MAPPER.readTree(line);
                if (node.hasNonNull("original_base64") && node.has("reason")) {
                    unwrapped++;
                    return Base64.getDecoder().decode(node.get("original_base64").asText());
                }
            } catch (IOException | IllegalArgumentException e) {
                // not a dead letter after all: the core will judge the line itself
            }
        }
        return bytes;
    }

    long records() {
        return records;
    }

    long unwrappedDeadLetters() {
        return unwrapped;
    }
}
