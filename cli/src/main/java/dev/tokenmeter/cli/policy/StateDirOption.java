package dev.tokenmeter.cli.policy;

import dev.tokenmeter.cli.Environment;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** Where deployments keep what they replaced, for rollback. */
public final class StateDirOption {
    @Option(names = "--state-dir", paramLabel = "DIR", description = "Where rollback snapshots are kept: a shared folder lets colleagues and CI roll back (stateDir in the --env file, env TOKENMETER_STATE_DIR; default ~/.tokenmeter).")
    Path stateDir;

    Path resolve(Environment env, java.util.Optional<dev.tokenmeter.cli.envfile.EnvironmentFile> file) {
        if (stateDir != null) {
            return stateDir;
        }
        // relative to the environment file: a shared snapshot folder checked in next to it, or a mounted share
        java.util.Optional<Path> fromFile = file.filter(f -> f.stateDir() != null)
                .map(f -> f.file().toAbsolutePath().getParent().resolve(f.stateDir()));
        return fromFile.or(() -> env.variable("TOKENMETER_STATE_DIR").map(Path::of))
                .orElse(Path.of(System.getProperty("user.home"), ".tokenmeter"));
    }
}
