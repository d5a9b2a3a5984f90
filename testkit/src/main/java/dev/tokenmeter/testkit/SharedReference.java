package dev.tokenmeter.testkit;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates {@code ../shared/reference} beside the project's root, where tests read the official contracts. */
public final class SharedReference {

    private SharedReference() {
    }

    public static Path root() {
        Path start = ProjectFiles.root();
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
                + "; the tests read the official contracts from there");
    }

    public static Path resolve(String relative) {
        Path path = root().resolve(relative);
        if (!Files.exists(path)) {
            throw new IllegalStateException("missing reference file " + path);
        }
        return path;
    }
}
