package dev.tokenmeter.cli.policy;

import com.azure.storage.blob.BlobContainerClientBuilder;
import com.azure.storage.blob.BlobUrlParts;
import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.envfile.EnvironmentFile;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Optional;

/** Where deployments keep what they replaced, for rollback: a directory or a Blob container URL. */
public final class SnapshotsOption {

    /** A SAS for the snapshot container, kept out of the URL so it never shows in a command line, file or message. */
    static final String SAS_VARIABLE = "TOKENMETER_SNAPSHOTS_SAS";

    @Option(names = {"--snapshots", "--state-dir"}, paramLabel = "DIR|URL",
            description = "Where rollback snapshots are kept: a directory, or a Blob container URL (https://ACCOUNT.blob.core.windows.net/CONTAINER[/FOLDER], "
                    + "signed in with DefaultAzureCredential, or a SAS in " + SAS_VARIABLE + "). A shared one lets colleagues and CI roll back. "
                    + "(snapshots in the --env file, env TOKENMETER_SNAPSHOTS; default ~/.tokenmeter)")
    String location;

    SnapshotStore open(Environment env, Optional<EnvironmentFile> file) {
        if (location != null) {
            return open(env, location, Path.of(""), "--snapshots");
        }
        Optional<EnvironmentFile> withLocation = file.filter(f -> f.snapshots() != null || f.stateDir() != null);
        if (withLocation.isPresent()) {
            EnvironmentFile f = withLocation.get();
            // a directory is relative to the file: a snapshot folder kept next to it, or a mounted share
            return open(env, f.snapshots() != null ? f.snapshots() : f.stateDir(),
                    f.file().toAbsolutePath().getParent(), f.origin(f.snapshots() != null ? "snapshots" : "stateDir"));
        }
        Optional<String> variable = env.variable("TOKENMETER_SNAPSHOTS").or(() -> env.variable("TOKENMETER_STATE_DIR"));
        return variable.map(v -> open(env, v, Path.of(""), "TOKENMETER_SNAPSHOTS"))
                .orElseGet(() -> new SnapshotStore.Directory(Path.of(System.getProperty("user.home"), ".tokenmeter")));
    }

    private static SnapshotStore open(Environment env, String where, Path base, String origin) {
        if (!where.startsWith("https://") && !where.startsWith("http://")) {
            return new SnapshotStore.Directory(base.resolve(where).normalize());
        }
        if (where.contains("?")) {
            throw new CliFailure(origin + ": the snapshot URL carries a query (a SAS?); a SAS in a URL ends up in shell "
                    + "history and messages: put it in " + SAS_VARIABLE + " and give the URL without it");
        }
        BlobUrlParts parts;
        try {
            parts = BlobUrlParts.parse(where);
        } catch (RuntimeException e) {
            throw new CliFailure(origin + ": " + where + " is not a Blob container URL (https://ACCOUNT.blob.core.windows.net/CONTAINER[/FOLDER])");
        }
        String container = parts.getBlobContainerName();
        if (container == null || container.isEmpty()) {
            throw new CliFailure(origin + ": " + where + " names no container (https://ACCOUNT.blob.core.windows.net/CONTAINER[/FOLDER])");
        }
        String folder = parts.getBlobName() == null ? "" : parts.getBlobName().replaceAll("/+$", "");
        String prefix = folder.isEmpty() ? "" : folder + "/";
        String containerUrl = parts.setBlobName(null).toUrl().toString().replaceAll("/+$", "");
        BlobContainerClientBuilder builder = new BlobContainerClientBuilder().endpoint(containerUrl);
        Optional<String> sas = env.variable(SAS_VARIABLE);
        if (sas.isPresent()) {
            builder.sasToken(sas.get());
        } else {
            builder.credential(env.credential().get());
        }
        return new SnapshotStore.Blob(builder.buildClient(), prefix, containerUrl);
    }
}
