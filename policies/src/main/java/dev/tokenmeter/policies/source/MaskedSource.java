package dev.tokenmeter.policies.source;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A policy file with every expression replaced by a placeholder, so that any XML parser can read it.
 * APIM's rawxml lets expressions hold {@code <}, {@code &&} and quotes, which no XML parser accepts; masking them
 * first is the only way to check the XML around them. Placeholders keep the expression's newlines, so line numbers
 * in the masked text are those of the original file, and they match the XSD's {@code expression} pattern.
 * Named values ({@code {{name}}}) are left in place; {@link #withNamedValues} substitutes them when needed.
 */
public record MaskedSource(String file, String rawText, String maskedText, List<PolicyExpression> expressions,
                           List<NamedValueRef> namedValues, List<SourceProblem> problems) {

    private static final Pattern PLACEHOLDER = Pattern.compile("@([({])__tmx_(\\d+)__\\s*[)}]");
    private static final Pattern NAMED_VALUE = Pattern.compile("\\{\\{([^{}]+)}}");

    /** The expression id a masked attribute or text value stands for, if it is a placeholder. */
    public static java.util.OptionalInt expressionId(String maskedValue) {
        Matcher m = PLACEHOLDER.matcher(maskedValue.strip());
        return m.matches() ? java.util.OptionalInt.of(Integer.parseInt(m.group(2))) : java.util.OptionalInt.empty();
    }

    public static String placeholder(PolicyExpression expression) {
        long newlines = expression.code().chars().filter(c -> c == '\n').count();
        String open = expression.multiStatement() ? "@{" : "@(";
        String close = expression.multiStatement() ? "}" : ")";
        return open + "__tmx_" + expression.id() + "__" + "\n".repeat((int) newlines) + close;
    }

    /** Puts the original expressions back into masked text (used after fragments were spliced in). */
    public static String unmask(String masked, Map<Integer, PolicyExpression> expressionsById) {
        Matcher m = PLACEHOLDER.matcher(masked);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            PolicyExpression e = expressionsById.get(Integer.parseInt(m.group(2)));
            m.appendReplacement(out, Matcher.quoteReplacement(e == null ? m.group() : e.raw()));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** Substitutes named values outside expressions (inside them APIM substitutes too, but the masks hide them). */
    public static String substituteNamedValues(String text, Function<String, String> values) {
        Matcher m = NAMED_VALUE.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String value = values.apply(m.group(1));
            m.appendReplacement(out, Matcher.quoteReplacement(value == null ? m.group() : value));
        }
        m.appendTail(out);
        return out.toString();
    }

    public String withNamedValues(Function<String, String> values) {
        return substituteNamedValues(maskedText, values);
    }
}
