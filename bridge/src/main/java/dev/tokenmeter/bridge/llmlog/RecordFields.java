package dev.tokenmeter.bridge.llmlog;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.TemporalAccessor;
import java.util.Collection;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One log record's fields, looked up case-insensitively: Event Hubs exports write camelCase under
 * {@code properties}, Log Analytics exports flat PascalCase. A field is taken from {@code properties} or the top
 * level, wherever it is; present in both with different values, it is refused rather than guessed. Typed getters
 * refuse wrong types and ranges with a {@link Refusal} naming the field.
 */
final class RecordFields {

    /** The llm_usage contract's bound for every count. */
    static final long MAX_COUNT = 2_000_000_000L;

    private final Map<String, JsonNode> top;
    private final Map<String, JsonNode> properties;
    /** Names given twice in one object with differing values, e.g. {@code promptTokens} and {@code PromptTokens}. */
    private final Set<String> ambiguous = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
    private final String propertiesProblem;

    RecordFields(JsonNode record) {
        top = fold(record);
        JsonNode props = top.get("properties");
        if (props == null || props.isNull()) {
            properties = Map.of();
            propertiesProblem = null;
        } else if (props.isObject()) {
            properties = fold(props);
            propertiesProblem = null;
        } else {
            properties = Map.of();
            propertiesProblem = "properties is " + kind(props) + ", not an object";
        }
    }

    private Map<String, JsonNode> fold(JsonNode object) {
        Map<String, JsonNode> folded = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode before = folded.putIfAbsent(e.getKey(), e.getValue());
            if (before != null && !same(before, e.getValue())) {
                ambiguous.add(e.getKey());
            }
        }
        return folded;
    }

    /** A top-level field (category, Type, metricName), or null when absent or JSON null. */
    JsonNode top(String name) {
        return present(top.get(name));
    }

    boolean hasAny(Collection<String> names) {
        for (String name : names) {
            if (present(top.get(name)) != null || present(properties.get(name)) != null) {
                return true;
            }
        }
        return false;
    }

    /** The field from {@code properties} or the top level; null when absent or JSON null. */
    JsonNode value(String name) {
        if (propertiesProblem != null) {
            throw new Refusal(SkipReason.INVALID_FIELD, propertiesProblem);
        }
        if (ambiguous.contains(name)) {
            throw new Refusal(SkipReason.INVALID_FIELD, name + " is given twice with different values");
        }
        JsonNode inProperties = present(properties.get(name));
        JsonNode atTop = present(top.get(name));
        if (inProperties != null && atTop != null && !same(inProperties, atTop)) {
            throw new Refusal(SkipReason.INVALID_FIELD, name + " differs between the top level and properties");
        }
        return inProperties != null ? inProperties : atTop;
    }

    /** A string field; blank counts as absent (Log Analytics exports write empty strings for nulls). */
    String text(String name) {
        JsonNode v = value(name);
        if (v == null) {
            return null;
        }
        if (!v.isTextual()) {
            throw new Refusal(SkipReason.INVALID_FIELD, name + " is " + kind(v) + ", not a string");
        }
        return v.textValue().isBlank() ? null : v.textValue();
    }

    /** A token count: a JSON integer or a string of digits, 0 to {@link #MAX_COUNT}; null when absent. */
    Long count(String name) {
        JsonNode v = value(name);
        if (v == null) {
            return null;
        }
        long n;
        if (v.isTextual()) {
            String s = v.textValue();
            if (s.isEmpty()) {
                return null;
            }
            if (!s.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new Refusal(SkipReason.INVALID_FIELD, name + " '" + clip(s) + "' is not a whole number >= 0");
            }
            if (s.length() > 12) {
                throw new Refusal(SkipReason.INVALID_FIELD, name + " " + clip(s) + " exceeds " + MAX_COUNT);
            }
            n = Long.parseLong(s);
        } else if (v.isIntegralNumber()) {
            if (!v.canConvertToLong()) {
                throw new Refusal(SkipReason.INVALID_FIELD, name + " " + clip(v.asText()) + " exceeds " + MAX_COUNT);
            }
            n = v.longValue();
        } else if (v.isNumber()) {
            throw new Refusal(SkipReason.INVALID_FIELD, name + " " + clip(v.asText()) + " is not a whole number");
        } else {
            throw new Refusal(SkipReason.INVALID_FIELD, name + " is " + kind(v) + ", not a count");
        }
        if (n < 0) {
            throw new Refusal(SkipReason.INVALID_FIELD, name + " " + n + " is negative");
        }
        if (n > MAX_COUNT) {
            throw new Refusal(SkipReason.INVALID_FIELD, name + " " + n + " exceeds " + MAX_COUNT);
        }
        return n;
    }

    /** A boolean, or the strings true/false in any case; null when absent. */
    Boolean flag(String name) {
        JsonNode v = value(name);
        if (v == null) {
            return null;
        }
        if (v.isBoolean()) {
            return v.booleanValue();
        }
        if (v.isTextual()) {
            String s = v.textValue();
            if (s.isEmpty()) {
                return null;
            }
            if (s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false")) {
                return Boolean.parseBoolean(s);
            }
        }
        throw new Refusal(SkipReason.INVALID_FIELD, name + " '" + clip(v.asText()) + "' is not true or false");
    }

    /** An ISO 8601 date-time; without an offset it is UTC, as Azure Monitor writes every time. */
    Instant time(String name) {
        String s = text(name);
        if (s == null) {
            return null;
        }
        try {
            TemporalAccessor t = DateTimeFormatter.ISO_DATE_TIME.parseBest(s, OffsetDateTime::from, LocalDateTime::from);
            return t instanceof OffsetDateTime odt ? odt.toInstant() : ((LocalDateTime) t).toInstant(ZoneOffset.UTC);
        } catch (DateTimeParseException e) {
            throw new Refusal(SkipReason.INVALID_FIELD, name + " '" + clip(s) + "' is not an ISO 8601 date-time");
        }
    }

    private static JsonNode present(JsonNode node) {
        return node == null || node.isNull() || node.isMissingNode() ? null : node;
    }

    /** Ids are compared case-insensitively, so one spelled in two cases is still one value. */
    private static boolean same(JsonNode a, JsonNode b) {
        if (a.isTextual() && b.isTextual()) {
            return a.textValue().equalsIgnoreCase(b.textValue());
        }
        return a.equals(b);
    }

    /** What a JSON value is, with its article, for reasons: "an array", "a string". */
    static String kind(JsonNode node) {
        return switch (node.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT, POJO -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            default -> "null";
        };
    }

    /** Values quoted in reasons stay short: they end up in logs and dead-letter details. */
    static String clip(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }

    /** A record refused for a reason; cheap (no stack trace), caught by the record reader. */
    static final class Refusal extends RuntimeException {
        private final SkipReason reason;

        Refusal(SkipReason reason, String detail) {
            super(detail, null, false, false);
            this.reason = reason;
        }

        RecordOutcome.Skipped outcome() {
            return new RecordOutcome.Skipped(reason, getMessage());
        }
    }
}
