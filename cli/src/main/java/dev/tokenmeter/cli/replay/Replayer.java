package dev.tokenmeter.cli.replay;

import dev.tokenmeter.bridge.deadletter.DirectoryDeadLetterStore;
import dev.tokenmeter.bridge.join.JoinObserver;
import dev.tokenmeter.bridge.join.JoinSettings;
import dev.tokenmeter.bridge.llmlog.LlmLogBackfill;
import dev.tokenmeter.bridge.mapping.Billable;
import dev.tokenmeter.bridge.mapping.EventMapper;
import dev.tokenmeter.bridge.mapping.MappingMode;
import dev.tokenmeter.bridge.openmeter.OpenMeterSink;
import dev.tokenmeter.bridge.pipeline.CheckpointListener;
import dev.tokenmeter.bridge.pipeline.CheckpointTracker;
import dev.tokenmeter.bridge.pipeline.Intake;
import dev.tokenmeter.bridge.pipeline.Pipeline;
import dev.tokenmeter.bridge.pipeline.PipelineMetrics;
import dev.tokenmeter.bridge.pipeline.PipelineSettings;
import dev.tokenmeter.bridge.report.UsageTable;
import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.ExitCode;
import dev.tokenmeter.cli.Table;
import dev.tokenmeter.usage.UsageRecordParser;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

/**
 * Sends records through the bridge's own core to OpenMeter with the bridge's mapping, so each event has the id the
 * bridge would have given it and OpenMeter de-duplicates whatever was already delivered. Shared by
 * {@code tokenmeter replay} (files) and {@code tokenmeter deadletters replay} (a dead-letter store).
 */
public final class Replayer {

    /** Feeds the records to replay, in order, into the core. */
    @FunctionalInterface
    public interface Feed {
        void into(Intake intake) throws IOException, InterruptedException;
    }

    private final Environment env;
    private final URI base;
    private final String token;
    private final MappingMode mode;
    private final EventMapper mapper;
    private final Path deadLetterDir;
    private final Duration timeout;

    Replayer(Environment env, URI base, String token, MappingMode mode, EventMapper mapper, Path deadLetterDir,
             Duration timeout) {
        this.env = env;
        this.base = base;
        this.token = token;
        this.mode = mode;
        this.mapper = mapper;
        this.deadLetterDir = deadLetterDir;
        this.timeout = timeout;
    }

    /**
     * Replays what {@code feed} gives, prints the per-user table and one summary line, and returns the exit code.
     *
     * @param what     what was replayed, for the summary: "records from x"
     * @param records  how many records the feed gave (asked after it ran)
     * @param note     said after {@code what} once the feed ran, e.g. how many were unwrapped from dead letters
     * @param llmLogs  an LLM log export to join streamed records with, or null
     */
    public int replay(Feed feed, String what, java.util.function.LongSupplier records,
                      java.util.function.Supplier<String> note, Path llmLogs)
            throws IOException, InterruptedException {
        DirectoryDeadLetterStore deadLetters = new DirectoryDeadLetterStore(deadLetterDir);
        UsageTable delivered = new UsageTable();
        // a replay has nowhere to checkpoint: a rerun re-sends, and OpenMeter de-duplicates by event id
        CheckpointTracker tracker = new CheckpointTracker(CheckpointListener.NONE);
        LlmLogBackfill.Loaded backfill = null;
        if (llmLogs != null) {
            if (!Files.exists(llmLogs)) {
                throw new CliFailure("LLM log export " + llmLogs.toAbsolutePath() + " does not exist");
            }
            backfill = new LlmLogBackfill(deadLetters, Clock.systemUTC()).load(llmLogs);
        }
        boolean settled;
        try (OpenMeterSink sink = new OpenMeterSink(base, token, Duration.ofSeconds(30))) {
            Pipeline pipeline = new Pipeline(PipelineSettings.defaults(), new UsageRecordParser(), mapper, sink,
                    deadLetters, tracker, new PipelineMetrics(new SimpleMeterRegistry()), delivered, Clock.systemUTC(),
                    JoinSettings.defaults(), JoinObserver.NONE, backfill == null ? null : backfill.index());
            try {
                feed.into(pipeline);
            } catch (IOException e) {
                pipeline.close(Duration.ofSeconds(5));
                throw new CliFailure("cannot read " + what + ": " + e.getMessage());
            }
            settled = pipeline.close(timeout);
        }
        List<UsageTable.Row> rows = delivered.rows();
        long deliveredRecords = rows.stream().mapToLong(UsageTable.Row::requests).sum();
        if (!rows.isEmpty()) {
            Table table = new Table(List.of("USER", "MODEL", "REQUESTS", "PROMPT", "COMPLETION", "CACHED", "REASONING", "TOTAL"));
            rows.forEach(r -> table.row(List.of(r.user(), r.model(), n(r.requests()), n(r.prompt()), n(r.completion()),
                    n(r.cached()), n(r.reasoning()), n(r.total()))));
            table.print(env.out());
        }
        env.out().println("Replayed " + records.getAsLong() + " records from " + what + note.get()
                + " to " + base + " as " + mode + " events: " + deliveredRecords + " delivered ("
                + delivered.delivered(Billable.Basis.JOINED) + " with exact counts from the LLM log, "
                + delivered.delivered(Billable.Basis.ESTIMATED) + " estimated)"
                + (deadLetters.written() > 0 ? ", " + deadLetters.written() + " dead-lettered again in " + deadLetterDir : "") + ".");
        env.out().flush();
        if (!settled) {
            throw new CliFailure("OpenMeter did not accept every record within " + timeout + " (" + tracker.pending()
                    + " pending): check OpenMeter and run the same replay again; records already sent are de-duplicated");
        }
        if (deadLetters.written() > 0) {
            env.err().println("error: " + deadLetters.written() + " records could not be delivered; the reasons are in "
                    + deadLetterDir + " (fix them, then replay that directory)");
            env.err().flush();
            return ExitCode.FAILURE;
        }
        return ExitCode.OK;
    }

    private static String n(long v) {
        return String.format(java.util.Locale.ROOT, "%,d", v);
    }
}
