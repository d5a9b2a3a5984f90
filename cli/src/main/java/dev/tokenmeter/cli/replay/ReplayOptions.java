package dev.tokenmeter.cli.replay;

import dev.tokenmeter.bridge.mapping.EventSettings;
import dev.tokenmeter.bridge.mapping.MappingMode;
import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.envfile.EnvOption;
import dev.tokenmeter.cli.envfile.EnvironmentFile;
import dev.tokenmeter.cli.openmeter.MappingOptions;
import dev.tokenmeter.cli.openmeter.OpenMeterOptions;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/** What every replay needs, whatever it replays: the event mapping, OpenMeter, and where new failures go. */
public final class ReplayOptions {

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
    @Mixin
    EnvOption environment;
    @Option(names = "--timeout", defaultValue = "PT5M", description = "How long to wait for OpenMeter to accept everything (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    /** The replay these options describe: OpenMeter's URL and token from the flags, the --env file or the environment. */
    public Replayer replayer(Environment env, CommandLine commandLine) {
        Optional<EnvironmentFile> file = environment.load(env);
        Optional<String> fileUrl = file.map(EnvironmentFile::openmeter).map(EnvironmentFile.OpenMeter::url);
        String origin = url != null ? "--openmeter-url" : fileUrl.isPresent() ? file.get().origin("openmeter.url")
                : "TOKENMETER_OPENMETER_URL";
        URI base = OpenMeterOptions.base(url != null ? url : fileUrl.or(() -> env.variable("TOKENMETER_OPENMETER_URL"))
                .orElseThrow(() -> new ParameterException(commandLine, "Missing --openmeter-url (or environment "
                        + "variable TOKENMETER_OPENMETER_URL, or openmeter.url in the --env file)")), origin, commandLine);
        Optional<String> tokenVariable = file.map(EnvironmentFile::openmeter).map(EnvironmentFile.OpenMeter::tokenEnv);
        String t = token != null ? token : tokenVariable.isPresent() ? env.variable(tokenVariable.get()).orElseThrow(() ->
                new CliFailure(file.get().origin("openmeter.tokenEnv") + ": environment variable " + tokenVariable.get()
                        + " is not set; export the OpenMeter API token in it"))
                : env.variable("TOKENMETER_OPENMETER_TOKEN").orElse(null);
        return new Replayer(env, base, t, mode, mode.mapper(new EventSettings(eventSource, eventType)), deadLetterDir,
                timeout);
    }
}
