package dev.tokenmeter.policies.validate;

import java.util.List;

/** The outcome of validating a policy set: it passed, or the findings that must be fixed first. */
public sealed interface ValidationResult {

    List<Finding> findings();

    default boolean passed() {
        return this instanceof Passed;
    }

    /** @param filesChecked how many policy and fragment files were checked */
    record Passed(int filesChecked) implements ValidationResult {
        @Override
        public List<Finding> findings() {
            return List.of();
        }
    }

    record Failed(List<Finding> findings) implements ValidationResult {
        public Failed {
            findings = List.copyOf(findings);
        }
    }
}
