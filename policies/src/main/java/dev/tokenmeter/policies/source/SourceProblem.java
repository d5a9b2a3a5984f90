package dev.tokenmeter.policies.source;

/** Something in a policy file that stops it from being read at all (an unterminated expression or named value). */
public record SourceProblem(String file, int line, String message) {
}
