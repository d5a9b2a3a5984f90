package dev.tokenmeter.policies.source;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Finds the C# expressions ({@code @(...)}, {@code @{...}}) and named values ({@code {{name}}}) in a policy file
 * written as APIM rawxml, and masks the expressions. An expression ends at the bracket that balances its opening
 * one; C# string and character literals and comments are skipped while counting, because they may hold brackets.
 * Not thread-safe per instance only in the sense that ids come from the shared counter, which is atomic.
 */
public final class ExpressionScanner {

    private final AtomicInteger nextId;

    /** @param nextId shared by all files of one policy set, so expression ids are unique across the set */
    public ExpressionScanner(AtomicInteger nextId) {
        this.nextId = nextId;
    }

    public MaskedSource scan(String file, String text) {
        List<PolicyExpression> expressions = new ArrayList<>();
        List<NamedValueRef> namedValues = new ArrayList<>();
        List<SourceProblem> problems = new ArrayList<>();
        StringBuilder masked = new StringBuilder(text.length());
        int line = 1;
        int lineStart = 0;
        int i = 0;
        int n = text.length();
        while (i < n) {
            char c = text.charAt(i);
            if (text.startsWith("<!--", i)) {
                int end = text.indexOf("-->", i + 4);
                int stop = end < 0 ? n : end + 3;
                String comment = text.substring(i, stop);
                collectNamedValues(file, comment, line, namedValues);
                masked.append(comment);
                line += count(comment, '\n');
                if (comment.indexOf('\n') >= 0) {
                    lineStart = i + comment.lastIndexOf('\n') + 1;
                }
                i = stop;
            } else if (c == '@' && i + 1 < n && (text.charAt(i + 1) == '(' || text.charAt(i + 1) == '{')) {
                int close = matchingClose(text, i + 1);
                if (close < 0) {
                    problems.add(new SourceProblem(file, line, "expression starting here is never closed: its "
                            + text.charAt(i + 1) + " has no balancing bracket"));
                    masked.append(text, i, n);
                    break;
                }
                String code = text.substring(i + 2, close);
                PolicyExpression expression = new PolicyExpression(nextId.getAndIncrement(), file, line, i - lineStart + 1,
                        text.charAt(i + 1) == '{', code);
                expressions.add(expression);
                collectNamedValues(file, code, line, namedValues);
                masked.append(MaskedSource.placeholder(expression));
                line += count(code, '\n');
                if (code.indexOf('\n') >= 0) {
                    lineStart = i + 2 + code.lastIndexOf('\n') + 1;
                }
                i = close + 1;
            } else if (c == '{' && text.startsWith("{{", i)) {
                int end = text.indexOf("}}", i + 2);
                if (end < 0 || text.substring(i + 2, end).contains("\n")) {
                    problems.add(new SourceProblem(file, line, "named value reference '{{' is never closed by '}}'"));
                    masked.append(c);
                    i++;
                    continue;
                }
                namedValues.add(new NamedValueRef(text.substring(i + 2, end).strip(), file, line));
                masked.append(text, i, end + 2);
                i = end + 2;
            } else {
                if (c == '\n') {
                    line++;
                    lineStart = i + 1;
                }
                masked.append(c);
                i++;
            }
        }
        return new MaskedSource(file, text, masked.toString(), List.copyOf(expressions), List.copyOf(namedValues),
                List.copyOf(problems));
    }

    private static void collectNamedValues(String file, String text, int startLine, List<NamedValueRef> out) {
        int line = startLine;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n') {
                line++;
            } else if (c == '{' && text.startsWith("{{", i)) {
                int end = text.indexOf("}}", i + 2);
                if (end > 0 && !text.substring(i + 2, end).contains("\n") && !text.substring(i + 2, end).isBlank()) {
                    out.add(new NamedValueRef(text.substring(i + 2, end).strip(), file, line));
                    i = end + 1;
                }
            }
        }
    }

    /** Index of the bracket closing the one at {@code open}, or -1. Skips C# literals and comments. */
    static int matchingClose(String s, int open) {
        StringBuilder stack = new StringBuilder();
        int i = open;
        int n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            switch (c) {
                case '(', '{', '[' -> {
                    stack.append(c);
                    i++;
                }
                case ')', '}', ']' -> {
                    if (stack.isEmpty() || stack.charAt(stack.length() - 1) != opener(c)) {
                        return -1;
                    }
                    stack.setLength(stack.length() - 1);
                    if (stack.isEmpty()) {
                        return i;
                    }
                    i++;
                }
                case '"' -> i = skipString(s, i, isVerbatim(s, i));
                case '\'' -> i = skipCharLiteral(s, i);
                case '/' -> {
                    if (s.startsWith("//", i)) {
                        int end = s.indexOf('\n', i);
                        i = end < 0 ? n : end;
                    } else if (s.startsWith("/*", i)) {
                        int end = s.indexOf("*/", i + 2);
                        i = end < 0 ? n : end + 2;
                    } else {
                        i++;
                    }
                }
                default -> i++;
            }
            if (i < 0) {
                return -1;
            }
        }
        return -1;
    }

    private static char opener(char close) {
        return switch (close) {
            case ')' -> '(';
            case '}' -> '{';
            default -> '[';
        };
    }

    private static boolean isVerbatim(String s, int quote) {
        return quote > 0 && s.charAt(quote - 1) == '@'
                || quote > 1 && s.charAt(quote - 1) == '$' && s.charAt(quote - 2) == '@';
    }

    /** Returns the index after the closing quote, or -1 when the string never ends. */
    private static int skipString(String s, int quote, boolean verbatim) {
        int i = quote + 1;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (verbatim) {
                if (c == '"') {
                    if (i + 1 < s.length() && s.charAt(i + 1) == '"') {
                        i += 2;
                        continue;
                    }
                    return i + 1;
                }
            } else if (c == '\\') {
                i += 2;
                continue;
            } else if (c == '"') {
                return i + 1;
            } else if (c == '\n') {
                return -1;
            }
            i++;
        }
        return -1;
    }

    private static int skipCharLiteral(String s, int quote) {
        int i = quote + 1;
        if (i < s.length() && s.charAt(i) == '\\') {
            i += 2;
        } else {
            i++;
        }
        while (i < s.length() && s.charAt(i) != '\'' && s.charAt(i) != '\n') {
            i++; // unicode escapes such as '\u0041'
        }
        return i < s.length() && s.charAt(i) == '\'' ? i + 1 : -1;
    }

    private static int count(String s, char c) {
        int k = 0;
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == c) {
                k++;
            }
        }
        return k;
    }
}
