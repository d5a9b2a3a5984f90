package dev.tokenmeter.infra;

import dev.tokenmeter.testkit.ProjectFiles;
import dev.tokenmeter.testkit.SharedReference;

import java.nio.file.Path;

/** Where the project and {@code ../shared/reference} are, and how messages name files. */
final class ProjectPaths {

    private ProjectPaths() {
    }

    static Path projectRoot() {
        return ProjectFiles.root();
    }

    static Path infra() {
        return ProjectFiles.resolve("infra");
    }

    static Path sharedReference() {
        return SharedReference.root();
    }

    /** A path as the project names it in messages: relative to the root, never a machine path. */
    static String display(Path file) {
        Path abs = file.toAbsolutePath().normalize();
        Path root = projectRoot();
        return abs.startsWith(root) ? root.relativize(abs).toString().replace('\\', '/') : file.getFileName().toString();
    }
}
