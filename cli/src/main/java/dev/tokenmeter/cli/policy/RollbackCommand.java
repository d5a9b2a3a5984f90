package dev.tokenmeter.cli.policy;

import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.ExitCode;
import dev.tokenmeter.cli.apim.ApimResource;
import dev.tokenmeter.cli.apim.ApimService;
import dev.tokenmeter.cli.apim.ArmOptions;
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
        description = {"Put back what the last completed 'policy deploy' to this service replaced: resources it created are deleted, resources it changed restored.",
                "Runs in reverse deployment order (policy first), conditional on the current ETags. Refuses when a resource changed since that deployment (names each; --force overrides).",
                "Failed or interrupted deploy attempts are never the deployment rolled back. Exit 3 with --dry-run when something would change."})
final class RollbackCommand implements Callable<Integer> {

    @Mixin
    ArmOptions arm;
    @Mixin
    SnapshotsOption snapshotsOption;
    @Option(names = "--dry-run", description = "Print what would be restored and change nothing.")
    boolean dryRun;
    @Option(names = "--force", description = "Roll back even resources that changed since the deployment (their change is lost).")
    boolean force;
    @Option(names = {"-y", "--yes"}, description = "Do not ask for confirmation at a terminal (without one nothing is asked).")
    boolean yes;

    private final Environment env;

    RollbackCommand(Environment env) {
        this.env = env;
    }

    private enum Action {
        DELETE, RESTORE, SKIP_SECRET, NOTHING
    }

    private record Step(Snapshots.Entry entry, Optional<ApimService.Deployed> current, Action action) {
    }

    @Override
    public Integer call() {
        ApimService service = arm.connect(env);
        service.requireTargets(List.of());
        Snapshots snapshots = new Snapshots(snapshotsOption.open(env, arm.environmentFile(env)), service.id());
        Snapshots.Snapshot snapshot = snapshots.latest().orElseThrow(() -> new CliFailure(
                "no deployment to roll back for " + service.id() + " in " + snapshots.location()
                        + ": rollback needs the snapshot a completed 'policy deploy' saved there (pass the same --snapshots)"));
        List<Snapshots.Entry> entries = new ArrayList<>(snapshot.entries());
        entries.sort(Comparator.comparing(Snapshots.Entry::key).reversed());
        List<Step> steps = new ArrayList<>();
        List<String> changed = new ArrayList<>();
        for (Snapshots.Entry e : entries) {
            if (e.secretValueOmitted()) {
                steps.add(new Step(e, Optional.empty(), Action.SKIP_SECRET));
                continue;
            }
            Optional<ApimService.Deployed> current = service.read(e.key());
            changedSince(e, current).ifPresent(why -> changed.add(e.key() + " (" + why + ")"));
            Action action = e.before() != null ? Action.RESTORE : current.isPresent() ? Action.DELETE : Action.NOTHING;
            steps.add(new Step(e, current, action));
        }
        if (!changed.isEmpty() && !force) {
            List<Snapshots.Snapshot> later = snapshots.all().stream()
                    .filter(s -> s.name().compareTo(snapshot.name()) > 0
                            && (s.status() == Snapshots.Status.FAILED || s.status() == Snapshots.Status.STARTED)
                            && s.applied() > 0).toList();
            throw new CliFailure("rollback refused: " + changed.size() + " resource(s) changed since the deployment of "
                    + snapshot.takenAt() + ", and rolling back would overwrite that change: " + String.join(", ", changed)
                    + (later.isEmpty() ? "" : "; " + later.stream().map(s -> "the " + s.status().text() + " deploy attempt of "
                    + s.takenAt() + " applied " + s.applied() + " change(s)").reduce((a, b) -> a + ", " + b).orElse(""))
                    + ". Review with 'tokenmeter policy diff', then pass --force to roll back anyway");
        }
        PrintWriter out = env.out();
        String target = snapshot.previousVersion() == null ? "its state before the policy set"
                : "policy set version " + snapshot.previousVersion();
        boolean pending = steps.stream().anyMatch(s -> s.action() == Action.DELETE || s.action() == Action.RESTORE);
        boolean ask = !dryRun && !yes && pending && env.terminal().interactive();
        out.println("Rolling back the deployment of " + snapshot.takenAt() + " (version " + snapshot.deployedVersion()
                + " -> " + (snapshot.previousVersion() == null ? "none" : snapshot.previousVersion()) + ")"
                + (dryRun ? ", dry run:" : ask ? ", plan:" : ":"));
        if (ask) {
            steps.forEach(s -> print(out, s, "delete   ", "restore  "));
            Confirmation.require(env, "Roll back " + service.id() + " to " + target + "?");
        }
        List<String> notRestored = new ArrayList<>();
        for (Step s : steps) {
            if (s.action() == Action.SKIP_SECRET) {
                notRestored.add(s.entry().key().toString());
            }
            if (!dryRun) {
                String etag = s.current().map(ApimService.Deployed::etag).orElse(null);
                if (s.action() == Action.DELETE) {
                    service.delete(s.entry().key(), etag);
                } else if (s.action() == Action.RESTORE) {
                    service.write(ApimResource.fromArm(s.entry().key(), s.entry().before()), etag);
                }
            }
            print(out, s, dryRun ? "delete   " : "deleted  ", dryRun ? "restore  " : "restored ");
        }
        if (!dryRun) {
            snapshots.markRolledBack(snapshot);
        }
        out.println(dryRun ? "Dry run: nothing was changed." + (pending ? "" : " Nothing to roll back.")
                : "Rolled back " + service.id() + " to " + target + "."
                + (notRestored.isEmpty() ? "" : " Not restored: " + String.join(", ", notRestored) + "."));
        out.flush();
        return dryRun && pending ? ExitCode.DRIFT : ExitCode.OK;
    }

    private static void print(PrintWriter out, Step s, String deleted, String restored) {
        switch (s.action()) {
            case DELETE -> out.println("  " + deleted + " " + s.entry().key());
            case RESTORE -> out.println("  " + restored + " " + s.entry().key());
            case SKIP_SECRET -> out.println("  skipped   " + s.entry().key() + " (a secret's value is never saved; set it again)");
            case NOTHING -> {
            }
        }
        out.flush();
    }

    /**
     * Why a resource no longer is what the deployment left, or empty when it is. The ETag says so for certain when it
     * is unchanged; a different ETag with the same content (a save that changed nothing) is no change. A plain
     * secret's content cannot be compared, so only its ETag counts.
     */
    private static Optional<String> changedSince(Snapshots.Entry e, Optional<ApimService.Deployed> current) {
        if (e.written() == null) {
            return Optional.of("the snapshot does not record what the deployment wrote");
        }
        if (current.isEmpty()) {
            return Optional.of("deleted since");
        }
        if (e.written().etag() != null && e.written().etag().equals(current.get().etag())) {
            return Optional.empty();
        }
        if (!e.plainSecret() && Snapshots.sha256(current.get().resource().reviewText()).equals(e.written().sha256())) {
            return Optional.empty();
        }
        return Optional.of(e.plainSecret() ? "secret value or settings changed" : "content changed");
    }
}
