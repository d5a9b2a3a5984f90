package dev.tokenmeter.bridge.llmlog;

import dev.tokenmeter.bridge.deadletter.DeadLetter;
import dev.tokenmeter.bridge.deadletter.DeadLetterStore;
import dev.tokenmeter.bridge.join.JoinRowCodec;
import dev.tokenmeter.bridge.join.LlmUsage;
import dev.tokenmeter.bridge.join.LlmUsageIndex;
import dev.tokenmeter.bridge.source.FileSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;

/**
 * Loads LLM log exports for a backfill ({@code --llm-logs}): a file or every {@code .json}/{@code .jsonl} file under
 * a directory. A {@code .json} file may hold one message (an Event Hubs envelope, an array, pretty-printed); any
 * other file, or a {@code .json} file that is not one message, is read as JSON lines, each an Event Hubs message,
 * a Log Analytics row or an {@code llm_usage} row. Lines that are none of these become dead letters with their
 * bytes, so nothing in the export is silently dropped.
 */
public final class LlmLogBackfill {

    /** What was loaded, for the run's summary. */
    public record Loaded(LlmUsageIndex index, long messages, long rows, long unparseable) {
    }

    private final LlmLogParser parser = new LlmLogParser();
    private final DeadLetterStore deadLetters;
    private final Clock clock;

    public LlmLogBackfill(DeadLetterStore deadLetters, Clock clock) {
        this.deadLetters = deadLetters;
        this.clock = clock;
    }

    public Loaded load(Path path) throws IOException {
        if (!Files.exists(path)) {
            throw new IOException("LLM log export " + path + " does not exist");
        }
        LlmUsageIndex index = new LlmUsageIndex();
        long[] counts = new long[3];
        for (Path file : FileSource.files(path)) {
            String partition = "llm-logs/" + (Files.isDirectory(path) ? path.relativize(file) : file.getFileName());
            if (file.toString().endsWith(".json")) {
                byte[] whole = Files.readAllBytes(file);
                if (parser.parse(whole) instanceof ParsedMessage.Records records) {
                    counts[0]++;
                    addAll(records.usages(), index, counts);
                    continue;
                }
            }
            readLines(file, partition, index, counts);
        }
        return new Loaded(index, counts[0], counts[1], counts[2]);
    }

    private void readLines(Path file, String partition, LlmUsageIndex index, long[] counts) throws IOException {
        try (InputStream in = Files.newInputStream(file);
             BufferedReader reader = new BufferedReader(new java.io.InputStreamReader(in, StandardCharsets.UTF_8))) {
            String line;
            long number = 0;
            while ((line = reader.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                counts[0]++;
                byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
                String problem = read(bytes, index, counts);
                if (problem != null) {
                    counts[2]++;
                    deadLetters.write(new DeadLetter(clock.instant(), DeadLetter.Reason.INVALID_RECORD,
                            "LLM log export: " + problem, partition, Long.toString(number), null, bytes, null));
                }
            }
        }
    }

    /** Adds what the line holds; returns why it holds nothing usable, or null. */
    private String read(byte[] line, LlmUsageIndex index, long[] counts) {
        if (JoinRowCodec.mayBeJoinRow(line)) {
            JoinRowCodec.Read read = JoinRowCodec.read(line);
            if (read instanceof JoinRowCodec.Read.Row row) {
                if (row.row() instanceof LlmUsage usage) {
                    addAll(List.of(usage), index, counts);
                }
                return null;
            }
            if (read instanceof JoinRowCodec.Read.Invalid invalid) {
                return invalid.reason();
            }
        }
        ParsedMessage parsed = parser.parse(line);
        if (parsed instanceof ParsedMessage.Unparseable unparseable) {
            return unparseable.reason();
        }
        addAll(((ParsedMessage.Records) parsed).usages(), index, counts);
        return null;
    }

    private static void addAll(List<LlmUsage> usages, LlmUsageIndex index, long[] counts) {
        for (LlmUsage usage : usages) {
            index.add(usage);
            counts[1]++;
        }
    }
}
