package dev.tokenmeter.bridge.deadletter;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Dead letters as JSONL files in a directory, one file per UTC day ({@code dead-letters-2026-11-27.jsonl}), one
 * {@link DeadLetterJson} per line. Each write is forced to disk before it returns; {@link #writeAll} forces once
 * per file for all its letters.
 */
public final class DirectoryDeadLetterStore implements DeadLetterStore {

    static final String PREFIX = "dead-letters-";
    static final String SUFFIX = ".jsonl";
    private static final DateTimeFormatter DAY = DateTimeFormatter.ISO_LOCAL_DATE.withZone(ZoneOffset.UTC);

    private final Path directory;
    private final AtomicLong written = new AtomicLong();

    public DirectoryDeadLetterStore(Path directory) throws IOException {
        this.directory = Files.createDirectories(directory);
    }

    @Override
    public String describe() {
        return directory.toString();
    }

    @Override
    public void write(DeadLetter letter) throws IOException {
        writeAll(List.of(letter));
    }

    @Override
    public synchronized void writeAll(List<DeadLetter> letters) throws IOException {
        Map<String, ByteArrayOutputStream> byDay = new TreeMap<>();
        for (DeadLetter letter : letters) {
            ByteArrayOutputStream lines = byDay.computeIfAbsent(DAY.format(letter.at()), day -> new ByteArrayOutputStream());
            lines.write(DeadLetterJson.encode(letter));
            lines.write('\n');
        }
        for (Map.Entry<String, ByteArrayOutputStream> day : byDay.entrySet()) {
            Path file = directory.resolve(PREFIX + day.getKey() + SUFFIX);
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND)) {
                ByteBuffer buffer = ByteBuffer.wrap(day.getValue().toByteArray());
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
                channel.force(false);
            }
        }
        written.addAndGet(letters.size());
    }

    @Override
    public long written() {
        return written.get();
    }
}
