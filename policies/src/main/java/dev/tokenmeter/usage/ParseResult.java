package dev.tokenmeter.usage;

/** What became of one raw record: a usage record, or the reason it cannot be one. */
public sealed interface ParseResult {

    record Valid(UsageRecord record) implements ParseResult {
    }

    /** {@code reason} names the field (as a JSON path) and what is wrong with it, for a human reading dead letters. */
    record Invalid(String reason) implements ParseResult {
    }
}
