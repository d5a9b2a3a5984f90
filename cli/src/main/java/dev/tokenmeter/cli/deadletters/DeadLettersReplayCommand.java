package dev.tokenmeter.cli.deadletters;

import dev.tokenmeter.bridge.deadletter.DeadLetterArchive;
import dev.tokenmeter.bridge.pipeline.Position;
import dev.tokenmeter.bridge.pipeline.SourceRecord;
import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.ExitCode;
import dev.tokenmeter.cli.replay.ReplayOptions;
import dev.tokenmeter.cli.replay.Replayer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "replay", mixinStandardHelpOptions = true,
        description = {"Send the original records of the selected dead letters through the bridge core to OpenMeter again, "
                + "as 'tokenmeter replay' does: same mapping, same event ids, so OpenMeter de-duplicates what it already has.",
                "Records that fail again become dead letters in --dead-letter-dir; the store itself is left as it is."})
final class DeadLettersReplayCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;
    @Mixin
    StoreOptions store;
    @Mixin
    ReplayOptions replay;

    private final Environment env;

    DeadLettersReplayCommand(Environment env) {
        this.env = env;
    }

    @Override
    public Integer call() throws Exception {
        Replayer replayer = replay.replayer(env, spec.commandLine());
        StoreOptions.Read read = store.read(env, spec.commandLine());
        List<DeadLetterArchive.Stored> letters = read.letters();
        if (letters.isEmpty()) {
            env.out().println("No dead letters in " + read.store() + " match; nothing replayed.");
            env.out().flush();
            return read.unreadable() > 0 ? ExitCode.FAILURE : ExitCode.OK;
        }
        int exit = replayer.replay(intake -> {
            // one partition in the letters' order: the core needs positions in order, and a replay checkpoints nothing
            long position = 0;
            for (DeadLetterArchive.Stored s : letters) {
                intake.submit(new SourceRecord("deadletters", Position.of(position++), s.letter().original()));
            }
            intake.endOfPartition("deadletters");
        }, read.store(), letters::size, () -> "", null);
        if (read.unreadable() > 0) {
            throw new CliFailure(read.unreadable() + " entries in " + read.store() + " could not be read and were not "
                    + "replayed (the warnings above say which)");
        }
        return exit;
    }
}
