package dev.tokenmeter.policies.scenarios;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One scenario file: which policy of the set it runs (null: the manifest's first), named values for all its
 * scenarios, and the scenarios.
 */
public record ScenarioFile(Path path, String policy, Map<String, String> namedValues, List<ScenarioCase> scenarios) {
}
