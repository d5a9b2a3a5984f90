package dev.tokenmeter.policies.validate;

/**
 * One problem found in a policy set.
 *
 * @param file   path relative to the policy-set folder ({@code policy-set.json} for manifest problems)
 * @param line   1-based, 0 when the problem is not tied to a line
 * @param column 1-based, 0 when only the line is known (every rule but the C# compiler's)
 * @param ruleId stable id of the rule (see {@link RuleId}), for scripts and suppressions
 * @param message what is wrong
 * @param fix    what to do about it
 */
public record Finding(String file, int line, int column, String ruleId, String message, String fix) {

    public Finding(String file, int line, String ruleId, String message, String fix) {
        this(file, line, 0, ruleId, message, fix);
    }

    /** {@code file:line[:column]}, the form editors and CI logs turn into links. */
    public String location() {
        return file + ":" + line + (column > 0 ? ":" + column : "");
    }

    /** {@code file:line[:column]: [rule] message. Fix: ...}. */
    public String format() {
        return location() + ": [" + ruleId + "] " + message + ". Fix: " + fix;
    }
}
