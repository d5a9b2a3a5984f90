package dev.tokenmeter.cli.policy;

import dev.tokenmeter.cli.Environment;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** Where deployments keep what they replaced, for rollback. */
public final class StateDirOption {
    @Option(names = "--state-dir", paramLabel = "DIR", description = "Where rollback snapshots are kept (env TOKENMETER_STATE_DIR; default ~/.tokenmeter).")
    Path stateDir;

    Path resolve(Environment env) {
        if (stateDir != null) {
            return stateDir;
        }
        return env.variable("TOKENMETER_STATE_DIR").map(Path::of)
                .orElse(Path.of(System.getProperty("user.home"), ".tokenmeter"));
    }
}
