package dev.tokenmeter.policies.validate;

import java.util.List;

/**
 * The outcome of validating a policy set: it passed, or the findings that must be fixed first. Either way,
 * {@code notes} say what could not be checked (the C# compiler not installed, for instance).
 */
public sealed interface ValidationResult {

    List<Finding> findings();

    List<String> notes();

    default boolean passed() {
        return this instanceof Passed;
    }

    /**
     * @param filesChecked        how many policy and fragment files were checked
     * @param expressionsCompiled how many C# expressions the compiler checked (0 when it did not run)
     */
    record Passed(int filesChecked, int expressionsCompiled, List<String> notes) implements ValidationResult {
        public Passed {
            notes = List.copyOf(notes);
        }

        public Passed(int filesChecked) {
            this(filesChecked, 0, List.of());
        }

        @Override
        public List<Finding> findings() {
            return List.of();
        }
    }

    record Failed(List<Finding> findings, List<String> notes) implements ValidationResult {
        public Failed {
            findings = List.copyOf(findings);
            notes = List.copyOf(notes);
        }

        public Failed(List<Finding> findings) {
            this(findings, List.of());
        }
    }
}
