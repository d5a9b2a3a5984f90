package dev.tokenmeter.cli.replay;

import dev.tokenmeter.bridge.deadletter.DirectoryDeadLetterStore;
import dev.tokenmeter.bridge.join.JoinObserver;
import dev.tokenmeter.bridge.join.JoinSettings;
import dev.tokenmeter.bridge.llmlog.LlmLogBackfill;
import dev.tokenmeter.bridge.mapping.Billable;
import dev.tokenmeter.bridge.mapping.EventMapper;
import dev.tokenmeter.bridge.mapping.EventSettings;
import dev.tokenmeter.bridge.mapping.MappingMode;
import dev.tokenmeter.bridge.openmeter.OpenMeterSink;
import dev.tokenmeter.bridge.pipeline.CheckpointListener;
import dev.tokenmeter.bridge.pipeline.CheckpointTracker;
import dev.tokenmeter.bridge.pipeline.Pipeline;
import dev.tokenmeter.bridge.pipeline.PipelineMetrics;
import dev.tokenmeter.bridge.pipeline.PipelineSettings;
import dev.tokenmeter.bridge.report.UsageTable;
import dev.tokenmeter.bridge.source.FileSource;
import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.ExitCode;
import dev.tokenmeter.cli.Table;
import dev.tokenmeter.cli.envfile.EnvOption;
import dev.tokenmeter.cli.envfile.EnvironmentFile;
import dev.tokenmeter.cli.openmeter.MappingOptions;
import dev.tokenmeter.cli.openmeter.OpenMeterOptions;
import picocli.CommandLine.Mixin;
import dev.tokenmeter.usage.UsageRecordParser;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

@Command(name = "replay", mixinStandardHelpOptions = true,
        description = {"Send usage records (JSONL) through the bridge core to OpenMeter: backfill, or recovery from the bridge's dead letters.",
                "FILE or DIR (every .jsonl/.json under it) may hold usage records or dead-letter lines, whose original records are replayed.",
                "OpenMeter de-duplicates by event id, so a record replayed twice is counted once."})
public final class ReplayCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;
    @Parameters(paramLabel = "FILE|DIR", description = "JSONL usage records or dead letters; - for standard input.")
    String input;
    @Option(names = "--mapping", paramLabel = "MODE", defaultValue = "request", converter = MappingOptions.ModeConverter.class,
            description = "Event mapping, as the bridge's: request or per-token-type (default: ${DEFAULT-VALUE}).")
    MappingMode mode;
    @Option(names = "--event-type", defaultValue = EventSettings.DEFAULT_TYPE, description = "CloudEvents type (default: ${DEFAULT-VALUE}).")
    String eventType;
    @Option(names = "--openmeter-url", paramLabel = "URL", description = "OpenMeter base URL (env TOKENMETER_OPENMETER_URL).")
    String url;
    @Option(names = "--openmeter-token", paramLabel = "TOKEN", description = "OpenMeter API token (env TOKENMETER_OPENMETER_TOKEN, preferred).")
    String token;
    @Option(names = "--event-source", description = "CloudEvents source (default: apim/<service name of each record>, as the bridge sends).")
    String eventSource;
    @Option(names = "--dead-letter-dir", paramLabel = "DIR", defaultValue = "replay-dead-letters",
            description = "Where records that fail again are kept (default: ${DEFAULT-VALUE}).")
    Path deadLetterDir;
    @Option(names = "--llm-logs", paramLabel = "PATH",
            description = "APIM LLM log exports (file or directory: Event Hubs messages as JSON lines, a Log Analytics "
                    + "export, or llm_usage rows): streamed records are billed with their exact counts where found, "
                    + "with their estimate otherwise.")
    Path llmLogs;
    @Mixin
    EnvOption environment;
    @Option(names = "--timeout", defaultValue = "PT5M", description = "How long to wait for OpenMeter to accept everything (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    private final Environment env;

    ReplayCommand(Environment env) {
        this.env = env;
    }

    @Override
    public Integer call() throws Exception {
        Optional<EnvironmentFile> file = environment.load(env);
        Optional<String> fileUrl = file.map(EnvironmentFile::openmeter).map(EnvironmentFile.OpenMeter::url);
        String origin = url != null ? "--openmeter-url" : fileUrl.isPresent() ? file.get().origin("openmeter.url")
                : "TOKENMETER_OPENMETER_URL";
        URI base = OpenMeterOptions.base(url != null ? url : fileUrl.or(() -> env.variable("TOKENMETER_OPENMETER_URL"))
                .orElseThrow(() -> new ParameterException(spec.commandLine(), "Missing --openmeter-url (or environment "
                        + "variable TOKENMETER_OPENMETER_URL, or openmeter.url in the --env file)")), origin, spec.commandLine());
        String u = base.toString();
        Optional<String> tokenVariable = file.map(EnvironmentFile::openmeter).map(EnvironmentFile.OpenMeter::tokenEnv);
        String t = token != null ? token : tokenVariable.isPresent() ? env.variable(tokenVariable.get()).orElseThrow(() ->
                new CliFailure(file.get().origin("openmeter.tokenEnv") + ": environment variable " + tokenVariable.get()
                        + " is not set; export the OpenMeter API token in it"))
                : env.variable("TOKENMETER_OPENMETER_TOKEN").orElse(null);
        Path in = Path.of(input);
        if (!input.equals("-") && !Files.exists(in)) {
            throw new CliFailure("replay input " + in.toAbsolutePath() + " does not exist: pass a JSONL file or a directory of them");
        }
        EventMapper mapper = mode.mapper(new EventSettings(eventSource, eventType));
        DirectoryDeadLetterStore deadLetters = new DirectoryDeadLetterStore(deadLetterDir);
        UsageTable delivered = new UsageTable();
        DeadLetterUnwrapper unwrapper = new DeadLetterUnwrapper();
        // the bridge's own file source reads the JSONL (bytes kept as they are); dead letters are unwrapped on the way
        FileSource source = new FileSource(input, System.in, unwrapper);
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
        try (OpenMeterSink sink = new OpenMeterSink(base, t, Duration.ofSeconds(30))) {
            Pipeline pipeline = new Pipeline(PipelineSettings.defaults(), new UsageRecordParser(), mapper, sink,
                    deadLetters, tracker, new PipelineMetrics(new SimpleMeterRegistry()), delivered, Clock.systemUTC(),
                    JoinSettings.defaults(), JoinObserver.NONE, backfill == null ? null : backfill.index());
            try {
                source.run(pipeline);
            } catch (IOException e) {
                pipeline.close(Duration.ofSeconds(5));
                throw new CliFailure("cannot read " + in + ": " + e.getMessage());
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
        env.out().println("Replayed " + source.records() + " records from " + (input.equals("-") ? "standard input" : input)
                + (unwrapper.unwrapped() > 0 ? " (" + unwrapper.unwrapped() + " taken from dead letters)" : "")
                + " to " + u + " as " + mode + " events: " + deliveredRecords + " delivered ("
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
