package dev.tokenmeter.bridge;

import dev.tokenmeter.bridge.deadletter.BlobDeadLetterStore;
import dev.tokenmeter.bridge.deadletter.DeadLetterContainer;
import dev.tokenmeter.bridge.deadletter.DeadLetterStore;
import dev.tokenmeter.bridge.deadletter.DirectoryDeadLetterStore;
import dev.tokenmeter.bridge.join.JoinMetrics;
import dev.tokenmeter.bridge.join.JoinSettings;
import dev.tokenmeter.bridge.ledger.LedgerSink;
import dev.tokenmeter.bridge.llmlog.LlmLogBackfill;
import dev.tokenmeter.bridge.llmlog.LlmLogParser;
import dev.tokenmeter.bridge.mapping.Billable;
import dev.tokenmeter.bridge.mapping.EventMapper;
import dev.tokenmeter.bridge.mapping.EventSettings;
import dev.tokenmeter.bridge.mapping.MappingMode;
import dev.tokenmeter.bridge.openmeter.OpenMeterSink;
import dev.tokenmeter.bridge.ops.OpsServer;
import dev.tokenmeter.bridge.pipeline.CheckpointTracker;
import dev.tokenmeter.bridge.pipeline.Pipeline;
import dev.tokenmeter.bridge.pipeline.PipelineMetrics;
import dev.tokenmeter.bridge.pipeline.PipelineSettings;
import dev.tokenmeter.bridge.progress.ProgressClock;
import dev.tokenmeter.bridge.progress.ProgressLine;
import dev.tokenmeter.bridge.rekey.RekeyMetrics;
import dev.tokenmeter.bridge.rekey.RekeyOptions;
import dev.tokenmeter.bridge.rekey.RekeySettings;
import dev.tokenmeter.bridge.rekey.RekeyShutdown;
import dev.tokenmeter.bridge.rekey.RekeyStage;
import dev.tokenmeter.bridge.rekey.RekeyTarget;
import dev.tokenmeter.bridge.rekey.RekeyTargetSettings;
import dev.tokenmeter.bridge.report.UsageTable;
import dev.tokenmeter.bridge.sink.Sink;
import dev.tokenmeter.bridge.source.FileSource;
import dev.tokenmeter.bridge.source.Source;
import dev.tokenmeter.bridge.source.eventhubs.EventHubsConnectionString;
import dev.tokenmeter.bridge.source.eventhubs.EventHubsSettings;
import dev.tokenmeter.bridge.source.eventhubs.EventHubsSource;
import dev.tokenmeter.bridge.source.kafka.KafkaAuth;
import dev.tokenmeter.bridge.source.kafka.KafkaSettings;
import dev.tokenmeter.bridge.source.kafka.KafkaSource;
import dev.tokenmeter.usage.UsageRecordParser;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * The bridge: usage records from a source, through the core, to OpenMeter (or a local ledger). All wiring is here,
 * explicit, top to bottom.
 */
@Command(name = "tokenmeter-bridge", mixinStandardHelpOptions = true, versionProvider = BridgeMain.Version.class,
        sortOptions = false,
        description = {"Forwards APIM usage records to OpenMeter as per-user CloudEvents, at least once, with "
                + "deterministic ids.", "Without --openmeter-url it writes a local ledger and prints tokens per user "
                + "and model."})
public final class BridgeMain implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(BridgeMain.class);

    @Mixin
    BridgeOptions options;

    @Mixin
    RekeyOptions rekeyOptions;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** How often a file run at a terminal says how far it is. */
    static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);

    private final InputStream stdin;
    private final PrintStream out;
    private final PrintStream err;
    private final boolean installShutdownHook;
    private final ProgressClock progressClock;

    BridgeMain(InputStream stdin, PrintStream out, PrintStream err, boolean installShutdownHook,
               ProgressClock progressClock) {
        this.stdin = stdin;
        this.out = out;
        this.err = err;
        this.installShutdownHook = installShutdownHook;
        this.progressClock = progressClock;
    }

    public static void main(String[] args) {
        System.exit(run(args, System.in, System.out, System.err, true));
    }

    /** Runs the bridge in this process; the tests' entry point. */
    static int run(String[] args, InputStream stdin, PrintStream out, PrintStream err, boolean installShutdownHook) {
        return run(args, stdin, out, err, installShutdownHook, ProgressClock.SYSTEM);
    }

    /** As {@link #run(String[], InputStream, PrintStream, PrintStream, boolean)}, with the terminal and time a test drives. */
    static int run(String[] args, InputStream stdin, PrintStream out, PrintStream err, boolean installShutdownHook,
                   ProgressClock progressClock) {
        CommandLine cli = new CommandLine(new BridgeMain(stdin, out, err, installShutdownHook, progressClock));
        cli.setOut(new java.io.PrintWriter(out, true));
        cli.setErr(new java.io.PrintWriter(err, true));
        // a usage error is one line naming what is wrong, not the whole help
        cli.setParameterExceptionHandler((e, arguments) -> {
            e.getCommandLine().getErr().println("tokenmeter-bridge: " + e.getMessage());
            e.getCommandLine().getErr().println("Run 'tokenmeter-bridge --help' for every option.");
            return ExitCodes.USAGE;
        });
        // anything else that ends the run is one log line (JSON in containers), with the exception in it
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            LOG.error("the bridge stopped: {}", e.toString(), e);
            return ExitCodes.FAILURE;
        });
        return cli.execute(args);
    }

    @Override
    public Integer call() throws Exception {
        settingsOrUsageError(() -> {
            LogSetup.apply(options.logFormat, options.quiet);
            return null;
        });
        Source source = createSource();
        if (rekeyMode()) {
            return rekey(source);
        }
        boolean finite = source instanceof FileSource;
        // every setting is checked before anything is created, so a usage error leaves nothing behind
        PipelineSettings settings = settingsOrUsageError(() -> new PipelineSettings(options.batchMaxEvents,
                options.batchMaxBytes, Duration.ofMillis(options.batchLingerMs), options.maxInFlightRequests,
                Duration.ofMillis(200), Duration.ofMillis(options.retryMaxBackoffMs)));
        JoinSettings join = joinSettings(finite);
        DeadLetterStore deadLetters = createDeadLetterStore();

        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new JvmMemoryMetrics().bindTo(registry);
        Sink sink = createSink();
        UsageTable table = new UsageTable();
        CheckpointTracker tracker = new CheckpointTracker(source);
        LlmLogBackfill.Loaded backfill = options.llmLogs == null || options.llmLogs.isBlank() ? null
                : new LlmLogBackfill(deadLetters, Clock.systemUTC()).load(Path.of(options.llmLogs));
        if (backfill != null) {
            LOG.info("LLM log export {}: {} rows with usage for {} requests from {} messages; {} unreadable (dead "
                    + "letters)", options.llmLogs, backfill.rows(), backfill.index().size(), backfill.messages(),
                    backfill.unparseable());
        }
        JoinMetrics joinMetrics = new JoinMetrics(registry);
        Pipeline pipeline = new Pipeline(settings, new UsageRecordParser(options.maxRecordBytes), createMapper(),
                sink, deadLetters, tracker, new PipelineMetrics(registry), table, Clock.systemUTC(), join,
                joinMetrics, backfill == null ? null : backfill.index());
        joinMetrics.bindJoinState(pipeline, Pipeline::joinHeld, Pipeline::joinWatermarkLagSeconds);
        if (finite) {
            pipeline.accountForEveryRecord();
        }

        Integer port = options.httpPort != null ? options.httpPort : finite ? null : Integer.valueOf(8080);
        OpsServer ops = port == null || port < 0 ? null : new OpsServer(port, registry, () -> notReady(source, pipeline));
        if (ops != null) {
            LOG.info("health, readiness and metrics on port {}", ops.port());
        }
        LOG.info("bridge starting: source {}, sink {}, dead letters in {}", source.describe(), sink,
                deadLetters.describe());

        Shutdown shutdown = new Shutdown(source, pipeline, sink, deadLetters, ops,
                Duration.ofMillis(options.shutdownTimeoutMs), finite);
        try (AutoCloseable progress = progress(source, deadLetters)) {
            untilStopped(source, () -> source.run(pipeline), shutdown::run);
        }
        boolean settled = shutdown.settled();
        if (finite) {
            if (!options.quiet) {
                table.print(out);
            }
            out.printf("%nrecords read: %d; billed: %d exact from the response, %d exact from the LLM log (joined), "
                            + "%d estimated, %d without usage, %d late corrections; dead letters: %d (in %s); events %s%n",
                    ((FileSource) source).records(), table.delivered(Billable.Basis.REPORTED),
                    table.delivered(Billable.Basis.JOINED), table.delivered(Billable.Basis.ESTIMATED),
                    table.delivered(Billable.Basis.NONE), table.delivered(Billable.Basis.LATE_CORRECTION),
                    deadLetters.written(), deadLetters.describe(),
                    sink instanceof LedgerSink ledger ? "written to " + ledger.file() : "sent to " + sink);
            if (shutdown.undelivered() > 0) {
                out.printf("NOT DELIVERED: %d records were not acknowledged by %s within the shutdown timeout (%d ms); "
                                + "they are dead letters with reason undelivered in %s: replay them with "
                                + "'tokenmeter replay %s'%n", shutdown.undelivered(), sink, options.shutdownTimeoutMs,
                        deadLetters.describe(), deadLetters.describe());
            }
            if (backfill != null && !options.quiet) {
                out.printf("LLM log export: %d rows with usage for %d requests from %d messages (%d unreadable, in the "
                        + "dead letters)%n", backfill.rows(), backfill.index().size(), backfill.messages(),
                        backfill.unparseable());
            }
        }
        return settled ? 0 : 1;
    }

    /** Progress lines on stderr for a file run watched at a terminal; nothing otherwise. */
    private AutoCloseable progress(Source source, DeadLetterStore deadLetters) {
        if (!(source instanceof FileSource files) || options.quiet || !progressClock.stderrIsTerminal()) {
            return () -> { };
        }
        return progressClock.schedule(new ProgressLine(err, progressClock, PROGRESS_EVERY, files::records,
                deadLetters::written));
    }

    @FunctionalInterface
    private interface SourceRun {
        void run() throws Exception;
    }

    /**
     * Runs the source until its input ends or SIGTERM stops it, then {@code shutdown}. The JVM halts when the SIGTERM
     * hook returns, so the hook waits for this thread to finish what the source owes on stopping (its drain, the
     * final commit or checkpoint, leaving the consumer group or releasing ownership) and the shutdown, within twice
     * the shutdown budget (each may take one) plus a margin.
     */
    private void untilStopped(Source source, SourceRun run, Runnable shutdown) throws Exception {
        java.util.concurrent.CountDownLatch finished = new java.util.concurrent.CountDownLatch(1);
        if (installShutdownHook) {
            Duration budget = Duration.ofMillis(options.shutdownTimeoutMs).multipliedBy(2).plusSeconds(5);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                source.stop();
                try {
                    if (!finished.await(budget.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
                        LOG.warn("shutdown budget of {} ms passed; stopping without the source's last commit",
                                budget.toMillis());
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                shutdown.run();
            }, "tokenmeter-shutdown"));
        }
        try {
            run.run();
        } finally {
            try {
                shutdown.run();
            } finally {
                finished.countDown();
            }
        }
    }

    /** Closes everything once, in order, whichever of main and the SIGTERM hook gets there first. */
    private static final class Shutdown {
        private final Source source;
        private final Pipeline pipeline;
        private final Sink sink;
        private final DeadLetterStore deadLetters;
        private final OpsServer ops;
        private final Duration timeout;
        private final boolean finite;
        private boolean done;
        private boolean settled;
        private int undelivered;

        Shutdown(Source source, Pipeline pipeline, Sink sink, DeadLetterStore deadLetters, OpsServer ops,
                 Duration timeout, boolean finite) {
            this.finite = finite;
            this.source = source;
            this.pipeline = pipeline;
            this.sink = sink;
            this.deadLetters = deadLetters;
            this.ops = ops;
            this.timeout = timeout;
        }

        synchronized void run() {
            if (done) {
                return;
            }
            done = true;
            try {
                settled = pipeline.close(timeout);
                if (!settled && finite) {
                    // a file has no next start to deliver them: keep them where replay finds them
                    undelivered = pipeline.deadLetterUndelivered();
                }
                source.checkpointSafePositions();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                LOG.error("final checkpoint failed; the next start redelivers from the previous one", e);
            } finally {
                sink.close();
                try {
                    deadLetters.close();
                } catch (java.io.IOException e) {
                    LOG.error("closing dead letters failed", e);
                }
                if (ops != null) {
                    ops.close();
                }
            }
        }

        synchronized int undelivered() {
            return undelivered;
        }

        synchronized boolean settled() {
            return settled;
        }
    }

    private Source createSource() {
        switch (options.source.toLowerCase()) {
            case "file":
                if (options.input() == null) {
                    throw new CommandLine.ParameterException(spec.commandLine(),
                            "the file source needs INPUT (a JSONL file, a directory, or - for stdin)");
                }
                if (!"-".equals(options.input()) && !java.nio.file.Files.exists(Path.of(options.input()))) {
                    throw new CommandLine.ParameterException(spec.commandLine(),
                            "INPUT " + options.input() + " does not exist (a JSONL file, a directory, or - for stdin)");
                }
                return new FileSource(options.input(), stdin);
            case "eventhubs":
                return new EventHubsSource(settingsOrUsageError(() -> new EventHubsSettings(
                        options.eventHubsNamespace, options.eventHubsName, options.eventHubsConsumerGroup,
                        options.eventHubsConnectionString, options.eventHubsStartPosition,
                        options.eventHubsMaxBatchSize, Duration.ofMillis(options.eventHubsMaxWaitMs),
                        Duration.ofMillis(options.eventHubsCheckpointIntervalMs), options.checkpointBlobContainerUrl,
                        options.checkpointConnectionString, options.checkpointContainer,
                        Duration.ofMillis(options.shutdownTimeoutMs))));
            case "kafka":
                return new KafkaSource(settingsOrUsageError(() -> new KafkaSettings(options.kafkaBootstrapServers,
                        options.kafkaTopic, options.kafkaGroupId, KafkaAuth.parse(options.kafkaAuth),
                        options.kafkaEventHubsConnectionString, options.kafkaSecurityProtocol,
                        options.kafkaStartOffset, options.kafkaMaxPollRecords,
                        Duration.ofMillis(options.kafkaCommitIntervalMs), Duration.ofMillis(options.kafkaSessionTimeoutMs),
                        Duration.ofMillis(options.shutdownTimeoutMs))));
            default:
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "unknown source '" + options.source + "': use file, eventhubs or kafka");
        }
    }

    /**
     * The Blob container when one is configured (durable across restarts, revisions and scale-in), else the
     * directory. A container that certainly does not exist is a usage error now rather than letters retried forever.
     */
    private DeadLetterStore createDeadLetterStore() throws java.io.IOException {
        String url = options.deadLetterBlobContainerUrl;
        if (url == null || url.isBlank()) {
            return new DirectoryDeadLetterStore(Path.of(options.deadLetterDir));
        }
        BlobDeadLetterStore store = new BlobDeadLetterStore(settingsOrUsageError(() -> DeadLetterContainer.connect(url,
                options.deadLetterConnectionString, "--dead-letter-blob-container-url")));
        String problem = store.problem();
        if (problem != null) {
            store.close();
            throw new CommandLine.ParameterException(spec.commandLine(), problem
                    + " (--dead-letter-blob-container-url / TOKENMETER_DEAD_LETTER_BLOB_CONTAINER_URL)");
        }
        return store;
    }

    private <T> T settingsOrUsageError(java.util.function.Supplier<T> settings) {
        try {
            return settings.get();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    private Sink createSink() {
        if (options.openMeterUrl == null || options.openMeterUrl.isBlank()) {
            return new LedgerSink(Path.of(options.ledgerFile));
        }
        return new OpenMeterSink(openMeterUri(), options.openMeterToken,
                Duration.ofMillis(options.requestTimeoutMs));
    }

    private JoinSettings joinSettings(boolean finite) {
        boolean on = switch (options.join.toLowerCase(java.util.Locale.ROOT)) {
            case "on", "true" -> true;
            case "off", "false" -> false;
            default -> throw new CommandLine.ParameterException(spec.commandLine(),
                    "--join must be on or off, not '" + options.join + "'");
        };
        if (options.llmLogs != null && !options.llmLogs.isBlank() && !finite) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--llm-logs is for backfills from files; a streaming source joins the rows on its partitions");
        }
        return settingsOrUsageError(() -> new JoinSettings(on, Duration.ofMillis(options.joinWindowMs),
                Duration.ofMillis(options.joinLateWindowMs), options.joinMaxPending));
    }

    /** Checked before anything is read, so a typo fails at once instead of retrying for as long as it takes. */
    private URI openMeterUri() {
        URI uri;
        try {
            uri = new URI(options.openMeterUrl.trim());
        } catch (java.net.URISyntaxException e) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--openmeter-url '" + Redaction.url(options.openMeterUrl) + "' is not a URL: " + e.getReason());
        }
        if (!("https".equalsIgnoreCase(uri.getScheme()) || "http".equalsIgnoreCase(uri.getScheme()))
                || uri.getHost() == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--openmeter-url '"
                    + Redaction.url(options.openMeterUrl) + "' must be an http(s) URL with a host, e.g. https://openmeter.cloud");
        }
        return uri;
    }

    private EventMapper createMapper() {
        return MappingMode.parse(options.eventMapping).mapper(new EventSettings(options.eventSource, options.eventType));
    }

    private static List<String> notReady(Source source, Pipeline pipeline) {
        List<String> reasons = new ArrayList<>();
        if (!source.ready()) {
            reasons.add("source " + source.describe() + " is not making progress");
        }
        if (!pipeline.joinWithinLimit()) {
            reasons.add("join holds " + pipeline.joinHeld() + " records and rows, over its limit "
                    + "(TOKENMETER_JOIN_MAX_PENDING): LLM log rows are not arriving, or W is too long for this traffic");
        }
        if (!pipeline.sinkHealthy()) {
            reasons.add("sink failing for " + Duration.ofNanos(pipeline.nanosSinceLastAccepted()).toSeconds() + " s");
        }
        return reasons;
    }

    private boolean rekeyMode() {
        switch (options.mode.toLowerCase(java.util.Locale.ROOT)) {
            case "bridge":
                return false;
            case "rekey":
                return true;
            default:
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "unknown mode '" + options.mode + "': use bridge or rekey");
        }
    }

    /**
     * --mode rekey: APIM's LLM log rows from the source (the diagnostic hub) to the usage hub, keyed by request id,
     * instead of usage records to OpenMeter (docs/bridge-sources.md, "The re-key stage").
     */
    private int rekey(Source source) throws Exception {
        RekeyTargetSettings targetSettings = settingsOrUsageError(() -> rekeyOptions.target(sourceNamespace(),
                options.kafkaBootstrapServers, options.kafkaAuth, options.kafkaSecurityProtocol));
        RekeySettings settings = settingsOrUsageError(() -> rekeyOptions.settings(Duration.ofMillis(200),
                Duration.ofMillis(options.retryMaxBackoffMs), System.getenv()));
        boolean finite = source instanceof FileSource;
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new JvmMemoryMetrics().bindTo(registry);
        DeadLetterStore deadLetters = createDeadLetterStore();
        RekeyMetrics metrics = new RekeyMetrics(registry);
        RekeyTarget target = targetSettings.connect();
        RekeyStage stage = new RekeyStage(settings, new LlmLogParser(), target, deadLetters,
                new CheckpointTracker(source), metrics, Clock.systemUTC());

        Integer port = options.httpPort != null ? options.httpPort : finite ? null : Integer.valueOf(8080);
        OpsServer ops = port == null || port < 0 ? null : new OpsServer(port, registry, () -> notReady(source, stage));
        LOG.info("re-key stage starting: source {}, target {}, ticks every {} ms as {}, dead letters in {}",
                source.describe(), targetSettings.describe(), settings.tickInterval().toMillis(), settings.emitter(),
                deadLetters.describe());

        RekeyShutdown shutdown = new RekeyShutdown(source, stage, Duration.ofMillis(options.shutdownTimeoutMs),
                target, deadLetters, ops);
        untilStopped(source, () -> source.run(stage), shutdown::run);
        if (finite) {
            out.printf("messages read: %d; llm_usage rows sent: %d; dead letters: %d (in %s)%n",
                    ((FileSource) source).records(), metrics.rowsOut(), deadLetters.written(), deadLetters.describe());
        }
        return shutdown.settled() ? 0 : 1;
    }

    private static List<String> notReady(Source source, RekeyStage stage) {
        List<String> reasons = new ArrayList<>();
        if (!source.ready()) {
            reasons.add("source " + source.describe() + " is not making progress");
        }
        if (!stage.targetHealthy()) {
            reasons.add("target failing for " + stage.sinceLastAcknowledged().toSeconds() + " s");
        }
        return reasons;
    }

    /** The namespace the source reads: the re-key stage's usage hub is in it unless told otherwise. */
    private String sourceNamespace() {
        boolean kafka = options.source.equalsIgnoreCase("kafka");
        if (!kafka && options.eventHubsNamespace != null && !options.eventHubsNamespace.isBlank()) {
            return options.eventHubsNamespace;
        }
        String cs = kafka ? options.kafkaEventHubsConnectionString : options.eventHubsConnectionString;
        return cs == null || cs.isBlank() ? null : EventHubsConnectionString.parse(cs).fullyQualifiedNamespace();
    }

    /** The build's version and commit, and the policy set it was built with (whose usage records it reads). */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            java.util.Properties p = new java.util.Properties();
            String set = "unknown";
            try (java.io.InputStream in = BridgeMain.class.getResourceAsStream("version.properties");
                 java.io.InputStream manifest = BridgeMain.class.getResourceAsStream("policy-set.json")) {
                if (in != null) {
                    p.load(in);
                }
                if (manifest != null) {
                    com.fasterxml.jackson.databind.JsonNode m = new com.fasterxml.jackson.databind.ObjectMapper().readTree(manifest);
                    set = m.path("name").asText() + " " + m.path("version").asText();
                }
            } catch (java.io.IOException e) {
                // the version is informative: a jar without it still runs
            }
            String commit = p.getProperty("commit", "unknown");
            return new String[]{"tokenmeter-bridge " + p.getProperty("version", "(development build)") + " (commit "
                    + (commit.matches("[0-9a-f]{7,40}") ? commit : "unknown") + ")",
                    "policy set: " + set + " (built with it; reads usage records v1 and v2)"};
        }
    }
}
