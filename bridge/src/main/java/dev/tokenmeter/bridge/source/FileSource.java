package dev.tokenmeter.bridge.source;

import dev.tokenmeter.bridge.pipeline.Pipeline;
import dev.tokenmeter.bridge.pipeline.Position;
import dev.tokenmeter.bridge.pipeline.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * JSONL usage records from a file, every {@code .jsonl}/{@code .json} file under a directory (in path order), or
 * standard input ({@code -}). Each file is a partition; the line number is the position. Lines are handed over as
 * raw bytes, so bytes that are not UTF-8 reach the dead letters exactly as they were.
 */
public final class FileSource implements Source {

    private static final Logger LOG = LoggerFactory.getLogger(FileSource.class);

    /** Lines longer than this are cut (and then refused by the parser's smaller limit); memory stays bounded. */
    static final int MAX_LINE_BYTES = 16 * 1024 * 1024;

    private final String input;
    private final InputStream stdin;
    private volatile boolean stopped;
    private long records;

    public FileSource(String input, InputStream stdin) {
        this.input = input;
        this.stdin = stdin;
    }

    @Override
    public void run(Pipeline pipeline) throws IOException, InterruptedException {
        if ("-".equals(input)) {
            read("stdin", stdin, pipeline);
            return;
        }
        Path root = Path.of(input);
        if (!Files.exists(root)) {
            throw new IOException("input " + root + " does not exist");
        }
        for (Path file : files(root)) {
            if (stopped) {
                return;
            }
            String partition = Files.isDirectory(root) ? root.relativize(file).toString() : file.getFileName().toString();
            try (InputStream in = Files.newInputStream(file)) {
                read(partition, in, pipeline);
            }
        }
    }

    private static List<Path> files(Path root) throws IOException {
        if (!Files.isDirectory(root)) {
            return List.of(root);
        }
        List<Path> files = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(root)) {
            walk.filter(Files::isRegularFile)
                    .filter(p -> p.toString().endsWith(".jsonl") || p.toString().endsWith(".json"))
                    .sorted()
                    .forEach(files::add);
        }
        return files;
    }

    private void read(String partition, InputStream raw, Pipeline pipeline) throws IOException, InterruptedException {
        BufferedInputStream in = new BufferedInputStream(raw, 64 * 1024);
        ByteArrayOutputStream line = new ByteArrayOutputStream(1024);
        long lineNumber = 0;
        boolean cut = false;
        int b;
        while (!stopped) {
            b = in.read();
            if (b == '\n' || b == -1) {
                if (b == -1 && line.size() == 0) {
                    break;
                }
                lineNumber++;
                byte[] bytes = stripCarriageReturn(line.toByteArray());
                line.reset();
                if (cut) {
                    LOG.warn("{} line {} is longer than {} bytes; only its start is kept", partition, lineNumber, MAX_LINE_BYTES);
                    cut = false;
                }
                if (!isBlank(bytes)) {
                    records++;
                    pipeline.submit(new SourceRecord(partition, Position.of(lineNumber), bytes));
                }
                if (b == -1) {
                    break;
                }
            } else if (line.size() < MAX_LINE_BYTES) {
                line.write(b);
            } else {
                cut = true;
            }
        }
    }

    private static byte[] stripCarriageReturn(byte[] bytes) {
        if (bytes.length > 0 && bytes[bytes.length - 1] == '\r') {
            return java.util.Arrays.copyOf(bytes, bytes.length - 1);
        }
        return bytes;
    }

    private static boolean isBlank(byte[] bytes) {
        for (byte b : bytes) {
            if (b != ' ' && b != '\t' && b != '\r') {
                return false;
            }
        }
        return true;
    }

    /** Records read so far. */
    public long records() {
        return records;
    }

    @Override
    public void safeToCheckpoint(String partition, Position position) {
        // a file has nowhere to store a checkpoint; a rerun re-sends, and OpenMeter de-duplicates by id
    }

    @Override
    public void stop() {
        stopped = true;
    }

    @Override
    public String describe() {
        return "-".equals(input) ? "standard input" : "files at " + input;
    }
}
