package dev.tokenmeter.cli.envfile;

import dev.tokenmeter.cli.Environment;
import picocli.CommandLine.Option;

import java.util.Optional;

/** {@code --env NAME}: the environment file a command takes its target and settings from (flags still win). */
public final class EnvOption {

    @Option(names = "--env", paramLabel = "NAME", description = "Environment file environments/NAME.yaml (or a path) "
            + "naming subscription, resource group, service, scopes, logger, named values and OpenMeter; flags win "
            + "over it, it wins over environment variables (env TOKENMETER_ENV; folder TOKENMETER_ENVIRONMENTS_DIR).")
    String name;

    private EnvironmentFile loaded;

    public Optional<EnvironmentFile> load(Environment env) {
        if (loaded == null) {
            Optional<String> chosen = Optional.ofNullable(name).or(() -> env.variable("TOKENMETER_ENV"));
            if (chosen.isEmpty()) {
                return Optional.empty();
            }
            loaded = EnvironmentFile.load(EnvironmentFile.locate(chosen.get(), env.variable("TOKENMETER_ENVIRONMENTS_DIR")));
        }
        return Optional.of(loaded);
    }
}
