package dev.tokenmeter.policies.validate;

/**
 * One problem found in a policy set.
 *
 * @param file   path relative to the policy-set folder ({@code policy-set.json} for manifest problems)
 * @param line   1-based, 0 when the problem is not tied to a line
 * @param ruleId stable id of the rule (see {@link RuleId}), for scripts and suppressions
 * @param message what is wrong
 * @param fix    what to do about it
 */
public record Finding(String file, int line, String ruleId, String message, String fix) {

    /** {@code file:line: [rule] message. Fix: ...}, the form editors and CI logs turn into links. */
    public String format() {
        return file + ":" + line + ": [" + ruleId + "] " + message + ". Fix: " + fix;
    }
}
