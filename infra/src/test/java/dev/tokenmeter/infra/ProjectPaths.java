package dev.tokenmeter.infra;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the project and {@code ../shared/reference} are. Surefire passes the project root as the system property
 * {@code tokenmeter.root}; the lookup is the same as the testkit's SharedReference, copied so that this module's
 * tests need nothing but the templates and the shared folder.
 */
final class ProjectPaths {

    private ProjectPaths() {
    }

    static Path projectRoot() {
        String root = System.getProperty("tokenmeter.root");
        Path start = (root != null ? Path.of(root) : Path.of("")).toAbsolutePath().normalize();
        for (Path dir = start; dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve("infra")) && Files.isRegularFile(dir.resolve("pom.xml"))) {
                return dir;
            }
        }
        throw new IllegalStateException("project root (with infra/) not found above " + start);
    }

    static Path infra() {
        return projectRoot().resolve("infra");
    }

    static Path sharedReference() {
        Path start = projectRoot();
        for (Path dir = start; dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolveSibling("shared").resolve("reference");
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
            if (Files.isDirectory(dir.resolve("shared/reference"))) {
                return dir.resolve("shared/reference");
            }
        }
        throw new IllegalStateException("../shared/reference not found above " + start
                + "; the template tests read Microsoft's ARM schemas from there");
    }

    /** A path as the project names it in messages: relative to the root, never a machine path. */
    static String display(Path file) {
        Path abs = file.toAbsolutePath().normalize();
        Path root = projectRoot();
        return abs.startsWith(root) ? root.relativize(abs).toString().replace('\\', '/') : file.getFileName().toString();
    }
}
