package dev.tokenmeter.testkit;

import java.nio.file.Path;

/**
 * The project's root as the tests see it: surefire passes it as the system property {@code tokenmeter.root};
 * without it (a test run from a module folder in an IDE) the module's parent.
 */
public final class ProjectFiles {

    private ProjectFiles() {
    }

    public static Path root() {
        return Path.of(System.getProperty("tokenmeter.root", "..")).toAbsolutePath().normalize();
    }

    /** A path below the project root, e.g. {@code samples/usage-records}. */
    public static Path resolve(String relative) {
        return root().resolve(relative);
    }
}
