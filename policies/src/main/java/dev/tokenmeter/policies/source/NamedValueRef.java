package dev.tokenmeter.policies.source;

/** A {@code {{name}}} reference to an APIM named value, and where it is. */
public record NamedValueRef(String name, String file, int line) {
}
