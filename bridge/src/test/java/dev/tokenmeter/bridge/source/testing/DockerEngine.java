package dev.tokenmeter.bridge.source.testing;

import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;

/**
 * The Docker-only tests' gate: Testcontainers only looks for an engine here (environment, socket, config file);
 * nothing is pulled. Without one the test is skipped, also under CI=true (CI has no Docker engine), and says so on
 * the console as well as in the report. Call it per test, not in {@code @BeforeAll}: a class-level abort shows in
 * the report as 0 tests.
 */
public final class DockerEngine {

    private static Boolean available;

    private DockerEngine() {
    }

    public static synchronized void require(String what) {
        if (available == null) {
            available = DockerClientFactory.instance().isDockerAvailable();
        }
        if (!available) {
            String message = "Docker is not available: " + what + " needs a Docker engine; it runs where `docker info` works";
            System.err.println("SKIPPED: " + message);
            Assumptions.abort(message);
        }
    }
}
