package dev.tokenmeter.bridge.deadletter;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Dead letters as JSONL files in a directory, one file per UTC day ({@code dead-letters-2026-11-27.jsonl}). Each
 * line holds the reason, the source position, the original bytes (base64, always exact; also as text when they
 * are valid UTF-8, for people) and, for rejected events, the event. Each write is forced to disk before it
 * returns.
 */
public final class DirectoryDeadLetterStore implements DeadLetterStore {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final DateTimeFormatter DAY = DateTimeFormatter.ISO_LOCAL_DATE.withZone(ZoneOffset.UTC);

    private final Path directory;
    private final AtomicLong written = new AtomicLong();

    public DirectoryDeadLetterStore(Path directory) throws IOException {
        this.directory = Files.createDirectories(directory);
    }

    public Path directory() {
        return directory;
    }

    @Override
    public synchronized void write(DeadLetter letter) throws IOException {
        ObjectNode line = MAPPER.createObjectNode();
        line.put("at", letter.at().toString());
        line.put("reason", letter.reason().label());
        line.put("detail", letter.detail());
        line.put("partition", letter.partition());
        line.put("position", letter.position());
        line.put("request_id", letter.requestId());
        line.put("original_base64", Base64.getEncoder().encodeToString(letter.original()));
        String text = utf8OrNull(letter.original());
        if (text != null) {
            line.put("original_text", text);
        }
        if (letter.event() != null) {
            line.set("event", MAPPER.readTree(letter.event()));
        }
        byte[] bytes = (MAPPER.writeValueAsString(line) + "\n").getBytes(StandardCharsets.UTF_8);
        Path file = directory.resolve("dead-letters-" + DAY.format(letter.at()) + ".jsonl");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(false);
        }
        written.incrementAndGet();
    }

    @Override
    public long written() {
        return written.get();
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
