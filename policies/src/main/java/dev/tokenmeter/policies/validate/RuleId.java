package dev.tokenmeter.policies.validate;

/** Stable rule ids used in findings. */
public final class RuleId {
    public static final String MANIFEST = "manifest";
    public static final String EXPRESSION_SYNTAX = "expression-syntax";
    public static final String WELL_FORMED = "xml-well-formed";
    public static final String DOCUMENT_ROOT = "document-root";
    public static final String SECTION = "policy-section";
    public static final String UNKNOWN_POLICY = "unknown-policy";
    public static final String SCOPE = "policy-scope";
    public static final String FRAGMENT_RESOLVES = "fragment-resolves";
    public static final String NAMED_VALUE_DECLARED = "named-value-declared";
    public static final String NAMED_VALUE_NAME = "named-value-name";
    public static final String LOGGER_DECLARED = "logger-declared";
    public static final String PARTITION_EXCLUSIVE = "partition-exclusive";
    public static final String METRIC_DIMENSIONS = "metric-dimensions";
    public static final String VERSION_STAMP = "version-stamp";
    public static final String EXPRESSION_COMPILES = "expression-compiles";
    public static final String EXPRESSION_TYPES = "expression-allowed-types";
    public static final String EXPRESSION_COMPILER = "expression-compiler";

    private RuleId() {
    }
}
