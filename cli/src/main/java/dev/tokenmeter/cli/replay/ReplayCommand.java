package dev.tokenmeter.cli.replay;

import dev.tokenmeter.bridge.source.FileSource;
import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Environment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "replay", mixinStandardHelpOptions = true,
        description = {"Send usage records (JSONL) through the bridge core to OpenMeter: backfill, or recovery from the bridge's dead letters.",
                "FILE or DIR (every .jsonl/.json under it) may hold usage records or dead-letter lines, whose original records are replayed.",
                "OpenMeter de-duplicates by event id, so a record replayed twice is counted once.",
                "Dead letters in a Blob container: tokenmeter deadletters replay."})
public final class ReplayCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;
    @Parameters(paramLabel = "FILE|DIR", description = "JSONL usage records or dead letters; - for standard input.")
    String input;
    @Mixin
    ReplayOptions replay;
    @Option(names = "--llm-logs", paramLabel = "PATH",
            description = "APIM LLM log exports (file or directory: Event Hubs messages as JSON lines, a Log Analytics "
                    + "export, or llm_usage rows): streamed records are billed with their exact counts where found, "
                    + "with their estimate otherwise.")
    Path llmLogs;

    private final Environment env;

    ReplayCommand(Environment env) {
        this.env = env;
    }

    @Override
    public Integer call() throws Exception {
        Replayer replayer = replay.replayer(env, spec.commandLine());
        Path in = Path.of(input);
        if (!input.equals("-") && !Files.exists(in)) {
            throw new CliFailure("replay input " + in.toAbsolutePath() + " does not exist: pass a JSONL file or a directory of them");
        }
        DeadLetterUnwrapper unwrapper = new DeadLetterUnwrapper();
        // the bridge's own file source reads the JSONL (bytes kept as they are); dead letters are unwrapped on the way
        FileSource source = new FileSource(input, System.in, unwrapper);
        return replayer.replay(source::run, input.equals("-") ? "standard input" : input, source::records,
                () -> unwrapper.unwrapped() > 0 ? " (" + unwrapper.unwrapped() + " taken from dead letters)" : "", llmLogs);
    }
}
