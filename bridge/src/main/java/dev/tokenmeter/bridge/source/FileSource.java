package dev.tokenmeter.bridge.source;

import dev.tokenmeter.bridge.pipeline.Intake;
import dev.tokenmeter.bridge.pipeline.Position;
import dev.tokenmeter.bridge.pipeline.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
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
    private final UnaryOperator<byte[]> recordOf;
    private volatile boolean stopped;
    // one writer (the reading thread); read by the progress line from another
    private volatile long records;

    public FileSource(String input, InputStream stdin) {
        this(input, stdin, UnaryOperator.identity());
    }

    /** {@code recordOf} turns each line into the record to submit (replay unwraps dead letters with it). */
    public FileSource(String input, InputStream stdin, UnaryOperator<byte[]> recordOf) {
        this.input = input;
        this.stdin = stdin;
        this.recordOf = recordOf;
    }

    @Override
    public void run(Intake pipeline) throws IOException, InterruptedException {
        if ("-".equals(input)) {
            read("stdin", stdin, pipeline);
            endOf("stdin", pipeline);
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
            endOf(partition, pipeline);
        }
    }

    /** The file itself, or every {@code .jsonl}/{@code .json} file under a directory, in path order. */
    public static List<Path> files(Path root) throws IOException {
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

    private void read(String partition, InputStream in, Intake pipeline) throws IOException, InterruptedException {
        byte[] chunk = new byte[64 * 1024];
        ByteArrayOutputStream line = new ByteArrayOutputStream(1024);
        long lineNumber = 0;
        boolean cut = false;
        int n;
        while (!stopped && (n = in.read(chunk)) != -1) {
            int start = 0;
            for (int i = 0; i < n; i++) {
                if (chunk[i] != '\n') {
                    continue;
                }
                cut |= append(line, chunk, start, i - start);
                lineNumber++;
                submitLine(partition, lineNumber, line, cut, pipeline);
                line.reset();
                cut = false;
                start = i + 1;
                if (stopped) {
                    return;
                }
            }
            cut |= append(line, chunk, start, n - start);
        }
        if (!stopped && line.size() > 0) {
            submitLine(partition, lineNumber + 1, line, cut, pipeline);
        }
    }

    private void endOf(String partition, Intake pipeline) throws InterruptedException {
        if (!stopped) {
            pipeline.endOfPartition(partition);
        }
    }

    /** Appends up to the line limit; returns whether anything had to be dropped. */
    private static boolean append(ByteArrayOutputStream line, byte[] bytes, int offset, int length) {
        int room = MAX_LINE_BYTES - line.size();
        line.write(bytes, offset, Math.min(room, length));
        return length > room;
    }

    private void submitLine(String partition, long lineNumber, ByteArrayOutputStream line, boolean cut,
                            Intake pipeline) throws InterruptedException {
        if (cut) {
            LOG.warn("{} line {} is longer than {} bytes; only its start is kept", partition, lineNumber, MAX_LINE_BYTES);
        }
        byte[] bytes = stripCarriageReturn(line.toByteArray());
        if (!isBlank(bytes)) {
            records++;
            pipeline.submit(new SourceRecord(partition, Position.of(lineNumber), recordOf.apply(bytes)));
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
