package dev.tokenmeter.cli.policy;

import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.models.BlobItem;
import com.azure.storage.blob.models.BlobStorageException;
import com.azure.storage.blob.models.ListBlobsOptions;
import com.azure.core.util.BinaryData;
import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Failures;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Where rollback snapshots live: a directory (a local one, or a share several people mount) or a Blob container, so
 * a colleague or a CI job can roll back a deployment made elsewhere. Names are relative paths with '/'.
 */
sealed interface SnapshotStore {

    /** The names directly below {@code folder}, sorted. */
    List<String> list(String folder);

    String read(String name);

    void write(String name, String content);

    /** Where a name is, as a user can find it (a URL without any credential). */
    String describe(String name);

    record Directory(Path root) implements SnapshotStore {
        public List<String> list(String folder) {
            Path dir = root.resolve(folder);
            if (!Files.isDirectory(dir)) {
                return List.of();
            }
            try (Stream<Path> files = Files.list(dir)) {
                return files.map(f -> folder + "/" + f.getFileName()).sorted().toList();
            } catch (IOException e) {
                throw new CliFailure("cannot read the rollback snapshots in " + dir + ": " + e.getMessage());
            }
        }

        public String read(String name) {
            try {
                return Files.readString(root.resolve(name), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new CliFailure("cannot read the rollback snapshot " + root.resolve(name) + ": " + e.getMessage());
            }
        }

        public void write(String name, String content) {
            Path file = root.resolve(name);
            try {
                Files.createDirectories(file.getParent());
                // written whole, then moved into place: a reader never sees half a snapshot
                Path partial = file.resolveSibling(file.getFileName() + ".partial");
                Files.writeString(partial, content, StandardCharsets.UTF_8);
                Files.move(partial, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new CliFailure("cannot write the rollback snapshot " + file + ": " + e.getMessage()
                        + "; fix the directory or pass --snapshots");
            }
        }

        public String describe(String name) {
            return root.resolve(name).toString();
        }
    }

    /** A container (and optional folder in it), signed in with DefaultAzureCredential or a SAS from a variable. */
    record Blob(BlobContainerClient container, String prefix, String displayUrl) implements SnapshotStore {
        public List<String> list(String folder) {
            List<String> names = new ArrayList<>();
            String full = prefix + folder + "/";
            try {
                for (BlobItem item : container.listBlobsByHierarchy("/", new ListBlobsOptions().setPrefix(full), null)) {
                    if (!Boolean.TRUE.equals(item.isPrefix())) {
                        names.add(item.getName().substring(prefix.length()));
                    }
                }
            } catch (RuntimeException e) {
                throw failure("list", folder, e);
            }
            return names.stream().sorted().toList();
        }

        public String read(String name) {
            try {
                return container.getBlobClient(prefix + name).downloadContent().toString();
            } catch (RuntimeException e) {
                throw failure("read", name, e);
            }
        }

        public void write(String name, String content) {
            try {
                container.getBlobClient(prefix + name).upload(BinaryData.fromString(content), true);
            } catch (RuntimeException e) {
                throw failure("write", name, e);
            }
        }

        public String describe(String name) {
            return displayUrl + "/" + prefix + name;
        }

        private CliFailure failure(String what, String name, RuntimeException e) {
            String where = "cannot " + what + " the rollback snapshots at " + describe(name) + ": ";
            if (Failures.signIn(e)) {
                return new CliFailure(where + "not signed in to Azure Storage; run 'az login' (or use a managed "
                        + "identity), or put a SAS for the container in " + SnapshotsOption.SAS_VARIABLE, e);
            }
            if (!(e instanceof BlobStorageException b)) {
                // a SAS signature must not reach the output, whatever the SDK put in its message
                return new CliFailure(where + e.getClass().getSimpleName() + " "
                        + String.valueOf(e.getMessage()).replaceAll("sig=[^&\\s]+", "sig=(hidden)"), e);
            }
            String hint = switch (b.getStatusCode()) {
                case 401, 403 -> ": grant this identity 'Storage Blob Data Contributor' on the container (or check "
                        + SnapshotsOption.SAS_VARIABLE + ")";
                case 404 -> ": the container does not exist; create it (az storage container create) or fix --snapshots";
                default -> "";
            };
            return new CliFailure(where + "HTTP " + b.getStatusCode() + " " + b.getErrorCode() + hint, e);
        }
    }
}
