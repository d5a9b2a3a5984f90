package dev.tokenmeter.infra;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Evaluates the part of the ARM expression language the templates' conditions, thresholds and scopes use, against
 * one template and a set of parameter values, so that tests can check what an expression computes instead of how
 * it is spelled. Anything outside that part (reference, list*, environment, guid, ...) throws: a test that needs it
 * fails loudly rather than passing on a guess.
 */
final class ArmExpressions {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    /** Placeholders for the deployment's subscription and resource group in resourceId(). */
    static final String SUBSCRIPTION = "00000000-0000-0000-0000-000000000000";
    static final String RESOURCE_GROUP = "rg";

    private final JsonNode template;
    private final Map<String, JsonNode> parameterValues;
    private final Map<String, JsonNode> variableCache = new HashMap<>();
    private final Set<String> evaluating = new HashSet<>();

    /** {@code parameterValues} override the template's defaults; a parameter with neither is an error when used. */
    ArmExpressions(JsonNode template, Map<String, ?> parameterValues) {
        this.template = template;
        this.parameterValues = new HashMap<>();
        parameterValues.forEach((k, v) -> this.parameterValues.put(k, toNode(v)));
    }

    /** A template value: expressions are evaluated, "[[" escapes unwrapped, objects and arrays evaluated inside. */
    JsonNode value(JsonNode node) {
        if (node == null || node.isMissingNode()) {
            throw new IllegalArgumentException("no value");
        }
        if (node.isTextual()) {
            String text = node.asText();
            if (ArmTemplateValidator.isExpression(text)) {
                return evaluate(text.substring(1, text.length() - 1));
            }
            return text.startsWith("[[") ? TextNode.valueOf(text.substring(1)) : node;
        }
        if (node.isArray()) {
            ArrayNode out = NODES.arrayNode();
            node.forEach(n -> out.add(value(n)));
            return out;
        }
        if (node.isObject()) {
            var out = NODES.objectNode();
            node.fields().forEachRemaining(e -> out.set(value(TextNode.valueOf(e.getKey())).asText(), value(e.getValue())));
            return out;
        }
        return node;
    }

    /** Whether a resource deploys: its condition, or true without one. */
    boolean deploys(JsonNode resource) {
        JsonNode condition = resource.get("condition");
        return condition == null || value(condition).asBoolean();
    }

    JsonNode evaluate(String expression) {
        Parser parser = new Parser(expression);
        JsonNode result = parser.expression();
        parser.end();
        return result;
    }

    private JsonNode parameter(String name) {
        if (parameterValues.containsKey(name)) {
            return parameterValues.get(name);
        }
        JsonNode declaration = template.path("parameters").path(name);
        if (declaration.isMissingNode()) {
            throw new IllegalArgumentException("parameter '" + name + "' is not declared");
        }
        if (!declaration.has("defaultValue")) {
            throw new IllegalArgumentException("parameter '" + name + "' has no default and no value was given");
        }
        return value(declaration.get("defaultValue"));
    }

    private JsonNode variable(String name) {
        JsonNode cached = variableCache.get(name);
        if (cached != null) {
            return cached;
        }
        JsonNode declaration = template.path("variables").path(name);
        if (declaration.isMissingNode()) {
            throw new IllegalArgumentException("variable '" + name + "' is not declared");
        }
        if (!evaluating.add(name)) {
            throw new IllegalArgumentException("variable '" + name + "' refers to itself");
        }
        JsonNode result = value(declaration);
        evaluating.remove(name);
        variableCache.put(name, result);
        return result;
    }

    private JsonNode call(String function, List<JsonNode> args) {
        switch (function.toLowerCase(Locale.ROOT)) {
            case "parameters": return parameter(text(args, 0));
            case "variables": return variable(text(args, 0));
            case "add": return LongNode.valueOf(number(args, 0) + number(args, 1));
            case "sub": return LongNode.valueOf(number(args, 0) - number(args, 1));
            case "mul": return LongNode.valueOf(number(args, 0) * number(args, 1));
            case "div": return LongNode.valueOf(number(args, 0) / number(args, 1)); // ARM divides integers
            case "min": return LongNode.valueOf(args.stream().mapToLong(JsonNode::asLong).min().orElseThrow());
            case "max": return LongNode.valueOf(args.stream().mapToLong(JsonNode::asLong).max().orElseThrow());
            case "if": return args.get(0).asBoolean() ? args.get(1) : args.get(2);
            case "not": return BooleanNode.valueOf(!bool(args, 0));
            case "and": return BooleanNode.valueOf(args.stream().allMatch(JsonNode::asBoolean));
            case "or": return BooleanNode.valueOf(args.stream().anyMatch(JsonNode::asBoolean));
            case "true": return BooleanNode.TRUE;
            case "false": return BooleanNode.FALSE;
            case "equals": return BooleanNode.valueOf(args.get(0).equals(args.get(1))
                    || args.get(0).isNumber() && args.get(1).isNumber() && args.get(0).asLong() == args.get(1).asLong());
            case "greater": return BooleanNode.valueOf(number(args, 0) > number(args, 1));
            case "empty": {
                JsonNode v = args.get(0);
                return BooleanNode.valueOf(v.isNull() || v.isTextual() ? v.asText().isEmpty() : v.isContainerNode() && v.isEmpty());
            }
            case "tolower": return TextNode.valueOf(text(args, 0).toLowerCase(Locale.ROOT));
            case "string": {
                JsonNode v = args.get(0);
                return TextNode.valueOf(v.isTextual() ? v.asText() : v.isBoolean() ? (v.asBoolean() ? "True" : "False") : v.toString());
            }
            case "format": {
                String pattern = text(args, 0);
                StringBuilder out = new StringBuilder();
                for (int i = 0; i < pattern.length(); i++) {
                    char c = pattern.charAt(i);
                    if (c == '{') {
                        int close = pattern.indexOf('}', i);
                        int index = Integer.parseInt(pattern.substring(i + 1, close));
                        JsonNode arg = args.get(index + 1);
                        out.append(arg.isTextual() ? arg.asText() : arg.toString());
                        i = close;
                    } else {
                        out.append(c);
                    }
                }
                return TextNode.valueOf(out.toString());
            }
            case "resourceid": {
                // resourceId([subscriptionId,] [resourceGroup,] type, name...): the leading arguments without a
                // slash are the subscription and resource group; the deployment's own are placeholders here
                int first = 0;
                while (first < args.size() && !args.get(first).asText().contains("/")) {
                    first++;
                }
                String group = first >= 1 ? args.get(first - 1).asText() : RESOURCE_GROUP;
                String subscription = first >= 2 ? args.get(first - 2).asText() : SUBSCRIPTION;
                String[] type = text(args, first).split("/");
                StringBuilder id = new StringBuilder("/subscriptions/" + subscription + "/resourceGroups/" + group
                        + "/providers/" + type[0]);
                if (args.size() - first - 1 != type.length - 1) {
                    throw new IllegalArgumentException("resourceId of " + String.join("/", type) + " needs "
                            + (type.length - 1) + " names, got " + (args.size() - first - 1));
                }
                for (int i = 1; i < type.length; i++) {
                    id.append('/').append(type[i]).append('/').append(args.get(first + i).asText());
                }
                return TextNode.valueOf(id.toString());
            }
            case "createarray": {
                ArrayNode out = NODES.arrayNode();
                args.forEach(out::add);
                return out;
            }
            case "createobject": {
                var out = NODES.objectNode();
                for (int i = 0; i + 1 < args.size(); i += 2) {
                    out.set(args.get(i).asText(), args.get(i + 1));
                }
                return out;
            }
            default:
                throw new UnsupportedOperationException("ARM function '" + function + "' is not supported by the test "
                        + "evaluator; evaluate something smaller or extend ArmExpressions");
        }
    }

    private static String text(List<JsonNode> args, int i) {
        JsonNode v = args.get(i);
        if (!v.isTextual()) {
            throw new IllegalArgumentException("argument " + i + " must be a string, was " + v);
        }
        return v.asText();
    }

    private static long number(List<JsonNode> args, int i) {
        JsonNode v = args.get(i);
        if (!v.isIntegralNumber()) {
            throw new IllegalArgumentException("argument " + i + " must be an integer, was " + v);
        }
        return v.asLong();
    }

    private static boolean bool(List<JsonNode> args, int i) {
        JsonNode v = args.get(i);
        if (!v.isBoolean()) {
            throw new IllegalArgumentException("argument " + i + " must be a bool, was " + v);
        }
        return v.asBoolean();
    }

    private static JsonNode toNode(Object v) {
        if (v instanceof JsonNode n) {
            return n;
        }
        if (v instanceof Boolean b) {
            return BooleanNode.valueOf(b);
        }
        if (v instanceof Number n) {
            return LongNode.valueOf(n.longValue());
        }
        if (v instanceof String s) {
            return TextNode.valueOf(s);
        }
        throw new IllegalArgumentException("unsupported parameter value " + v);
    }

    /** expression := literal | call; call := name '(' args ')' ( '.' name | '[' expression ']' )* */
    private final class Parser {
        private final String in;
        private int pos;

        Parser(String in) {
            this.in = in;
        }

        JsonNode expression() {
            skipSpace();
            JsonNode result;
            char c = peek();
            if (c == '\'') {
                result = stringLiteral();
            } else if (c == '-' || Character.isDigit(c)) {
                int start = pos++;
                while (pos < in.length() && Character.isDigit(in.charAt(pos))) {
                    pos++;
                }
                result = LongNode.valueOf(Long.parseLong(in.substring(start, pos)));
            } else {
                String name = identifier();
                expect('(');
                List<JsonNode> args = new ArrayList<>();
                skipSpace();
                if (peek() != ')') {
                    // if() is lazy in ARM: only the chosen branch is evaluated, which the templates rely on
                    if (name.equalsIgnoreCase("if")) {
                        return accessors(lazyIf());
                    }
                    args.add(expression());
                    skipSpace();
                    while (peek() == ',') {
                        pos++;
                        args.add(expression());
                        skipSpace();
                    }
                }
                expect(')');
                result = call(name, args);
            }
            return accessors(result);
        }

        private JsonNode lazyIf() {
            boolean condition = expression().asBoolean();
            skipSpace();
            expect(',');
            JsonNode chosen = null;
            for (int branch = 0; branch < 2; branch++) {
                if (branch == 1) {
                    skipSpace();
                    expect(',');
                }
                if (condition == (branch == 0)) {
                    chosen = expression();
                } else {
                    skipArgument();
                }
            }
            skipSpace();
            expect(')');
            return chosen;
        }

        /** Skips one argument without evaluating it: up to the next ',' or ')' at this nesting level. */
        private void skipArgument() {
            int depth = 0;
            while (pos < in.length()) {
                char c = in.charAt(pos);
                if (c == '\'') {
                    stringLiteral();
                    continue;
                }
                if (c == '(' || c == '[') {
                    depth++;
                } else if (c == ')' || c == ']') {
                    if (depth == 0) {
                        return;
                    }
                    depth--;
                } else if (c == ',' && depth == 0) {
                    return;
                }
                pos++;
            }
        }

        private JsonNode accessors(JsonNode result) {
            while (pos < in.length()) {
                skipSpace();
                if (pos >= in.length()) {
                    break;
                }
                char c = peek();
                if (c == '.') {
                    pos++;
                    String property = identifier();
                    result = member(result, property);
                } else if (c == '[') {
                    pos++;
                    JsonNode key = expression();
                    skipSpace();
                    expect(']');
                    result = key.isIntegralNumber() ? result.path(key.asInt()) : member(result, key.asText());
                } else {
                    break;
                }
            }
            return result;
        }

        private JsonNode member(JsonNode object, String property) {
            JsonNode v = object.get(property);
            if (v == null) {
                throw new IllegalArgumentException("no property '" + property + "' in " + object);
            }
            return v;
        }

        private JsonNode stringLiteral() {
            expect('\'');
            StringBuilder out = new StringBuilder();
            while (true) {
                if (pos >= in.length()) {
                    throw new IllegalArgumentException("unterminated string in " + in);
                }
                char c = in.charAt(pos++);
                if (c == '\'') {
                    if (pos < in.length() && in.charAt(pos) == '\'') {
                        out.append('\'');
                        pos++;
                    } else {
                        return TextNode.valueOf(out.toString());
                    }
                } else {
                    out.append(c);
                }
            }
        }

        private String identifier() {
            skipSpace();
            int start = pos;
            while (pos < in.length() && (Character.isLetterOrDigit(in.charAt(pos)) || in.charAt(pos) == '_')) {
                pos++;
            }
            if (start == pos) {
                throw new IllegalArgumentException("expected a name at " + pos + " in " + in);
            }
            return in.substring(start, pos);
        }

        private void expect(char c) {
            skipSpace();
            if (peek() != c) {
                throw new IllegalArgumentException("expected '" + c + "' at " + pos + " in " + in);
            }
            pos++;
        }

        private char peek() {
            return pos < in.length() ? in.charAt(pos) : '\0';
        }

        private void skipSpace() {
            while (pos < in.length() && Character.isWhitespace(in.charAt(pos))) {
                pos++;
            }
        }

        void end() {
            skipSpace();
            if (pos != in.length()) {
                throw new IllegalArgumentException("unexpected '" + in.substring(pos) + "' in " + in);
            }
        }
    }
}
