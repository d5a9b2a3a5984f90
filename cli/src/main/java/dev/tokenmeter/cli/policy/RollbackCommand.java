package dev.tokenmeter.cli.policy;

import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.ExitCode;
import dev.tokenmeter.cli.apim.ApimResource;
import dev.tokenmeter.cli.apim.ApimService;
import dev.tokenmeter.cli.apim.ArmOptions;
import dev.tokenmeter.cli.apim.ResourceKey;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

@Command(name = "rollback", mixinStandardHelpOptions = true,
        description = {"Put back what the last 'policy deploy' to this service replaced: resources it created are deleted, resources it changed restored.",
                "Runs in reverse deployment order (policy first), conditional on the current ETags."})
final class RollbackCommand implements Callable<Integer> {

    @Mixin
    ArmOptions arm;
    @Mixin
    StateDirOption state;
    @Option(names = "--dry-run", description = "Print what would be restored and change nothing.")
    boolean dryRun;

    private final Environment env;

    RollbackCommand(Environment env) {
        this.env = env;
    }

    @Override
    public Integer call() {
        ApimService service = arm.connect(env);
        service.requireTargets(List.of());
        Snapshots snapshots = new Snapshots(state.resolve(env, arm.environmentFile(env)), service.id());
        Snapshots.Snapshot snapshot = snapshots.latest().orElseThrow(() -> new CliFailure(
                "no deployment to roll back for " + service.id() + " in " + state.resolve(env, arm.environmentFile(env))
                        + ": rollback needs the snapshot 'policy deploy' saved there (pass the same --state-dir)"));
        PrintWriter out = env.out();
        out.println("Rolling back the deployment of " + snapshot.takenAt() + " (version " + snapshot.deployedVersion()
                + " -> " + (snapshot.previousVersion() == null ? "none" : snapshot.previousVersion()) + ")"
                + (dryRun ? ", dry run:" : ":"));
        List<Snapshots.Entry> entries = new ArrayList<>(snapshot.entries());
        entries.sort(Comparator.comparing(Snapshots.Entry::key).reversed());
        List<String> notRestored = new ArrayList<>();
        for (Snapshots.Entry e : entries) {
            if (e.secretValueOmitted()) {
                notRestored.add(e.key().toString());
                out.println("  skipped   " + e.key() + " (a secret's value is never saved; set it again)");
                continue;
            }
            Optional<ApimService.Deployed> current = service.read(e.key());
            if (e.before() == null) {
                if (current.isPresent()) {
                    if (!dryRun) {
                        service.delete(e.key(), current.get().etag());
                    }
                    out.println("  deleted   " + e.key());
                }
            } else {
                if (!dryRun) {
                    service.write(ApimResource.fromArm(e.key(), e.before()), current.map(ApimService.Deployed::etag).orElse(null));
                }
                out.println("  restored  " + e.key());
            }
            out.flush();
        }
        if (!dryRun) {
            snapshots.markRolledBack(snapshot);
        }
        out.println(dryRun ? "Dry run: nothing was changed."
                : "Rolled back " + service.id() + " to " + (snapshot.previousVersion() == null ? "its state before the policy set"
                : "policy set version " + snapshot.previousVersion()) + "."
                + (notRestored.isEmpty() ? "" : " Not restored: " + String.join(", ", notRestored) + "."));
        out.flush();
        return ExitCode.OK;
    }
}
