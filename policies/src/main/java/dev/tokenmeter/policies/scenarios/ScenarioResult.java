package dev.tokenmeter.policies.scenarios;

import java.nio.file.Path;
import java.util.List;

/**
 * One scenario's verdict: it passed, what differed from its expectations, or why it could not run (a policy the
 * harness does not model, a send-request the scenario has no answer for).
 */
public sealed interface ScenarioResult {

    Path file();

    String name();

    default boolean passed() {
        return this instanceof Passed;
    }

    record Passed(Path file, String name) implements ScenarioResult {
    }

    record Failed(Path file, String name, List<Difference> differences) implements ScenarioResult {
        public Failed {
            differences = List.copyOf(differences);
        }
    }

    record Errored(Path file, String name, String error) implements ScenarioResult {
    }

    /** One expectation that did not hold: where (e.g. {@code usage-record.prompt_tokens}), what was expected, what came. */
    record Difference(String field, String expected, String actual) {
        public String format() {
            return field + ": expected " + expected + ", got " + actual;
        }
    }
}
