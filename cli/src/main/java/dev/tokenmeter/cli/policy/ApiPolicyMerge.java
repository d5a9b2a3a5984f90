package dev.tokenmeter.cli.policy;

import dev.tokenmeter.cli.CliFailure;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

/**
 * Puts the set's {@code include-fragment} lines into a policy document someone else owns (CORS, backend routing,
 * the team's own rules), and changes nothing else in it. Each section gets the set's includes where the set's own
 * document has them: those before {@code <base />} right before the team's {@code <base />}, those after right after
 * it; without a {@code <base />} at the start of the section (a {@code <base />} is never added: the team left it out
 * so as not to inherit). Includes of the set's fragments directly in a section are moved there, not duplicated, so
 * an older version of the includes is replaced; includes nested in the team's own logic (a {@code choose}) are theirs.
 *
 * <p>The document is worked on as text, not parsed and written again: APIM's raw XML is not well-formed while
 * expressions hold quotes, {@code <} or {@code &&}, and the team's formatting and comments stay as they are. The
 * scanner skips comments, CDATA and expressions ({@code @(...)}, {@code @{...}}, C# string literals inside) so that
 * only real tags count.
 */
final class ApiPolicyMerge {

    static final List<String> SECTIONS = List.of("inbound", "backend", "outbound", "on-error");
    private static final Pattern FRAGMENT_ID = Pattern.compile("fragment-id\\s*=\\s*[\"']([^\"']*)[\"']");

    private ApiPolicyMerge() {
    }

    /** An element directly in a section: its whole text, and its fragment id when it is an include. */
    private record Child(String name, int start, int end, String fragmentId) {
    }

    private record Section(String name, int start, int openEnd, int closeStart, int end, boolean selfClosing,
                           List<Child> children) {
        Optional<Child> base() {
            return children.stream().filter(c -> c.name().equals("base")).findFirst();
        }
    }

    private record Document(String text, int policiesOpenEnd, Map<String, Section> sections) {
    }

    /** One section of the set's own document: its includes before and after {@code <base />}. */
    private record Includes(List<String> before, List<String> after) {
    }

    private record Edit(int at, int delete, String insert) {
    }

    /** The team's document with the set's includes in place; the same text when they already are. */
    static String merge(String theirs, String ours, Set<String> ownFragments) {
        Document team = parse(theirs, "the policy on the service");
        Document set = parse(ours, "the set's policy document");
        List<Edit> edits = new ArrayList<>();
        for (String name : SECTIONS) {
            Section s = set.sections().get(name);
            if (s == null) {
                continue;
            }
            Includes includes = includes(s);
            if (includes.before().isEmpty() && includes.after().isEmpty()) {
                continue;
            }
            Section t = team.sections().get(name);
            if (t == null) {
                edits.add(newSection(team, name, includes));
            } else {
                edits.addAll(into(team.text(), t, includes, ownFragments));
            }
        }
        // from the end, so earlier positions stay valid; at one position the deletion goes first
        // (and of two insertions the later one, so that the earlier one ends up first)
        Comparator<Integer> order = Comparator.<Integer>comparingInt(i -> edits.get(i).at()).reversed()
                .thenComparing(i -> edits.get(i).delete() == 0).thenComparing(Comparator.<Integer>reverseOrder());
        StringBuilder out = new StringBuilder(theirs);
        for (int i : IntStream.range(0, edits.size()).boxed().sorted(order).toList()) {
            Edit e = edits.get(i);
            out.replace(e.at(), e.at() + e.delete(), e.insert());
        }
        return out.toString();
    }

    private static Includes includes(Section s) {
        List<String> before = new ArrayList<>();
        List<String> after = new ArrayList<>();
        boolean seenBase = s.base().isEmpty();
        for (Child c : s.children()) {
            if (c.name().equals("base")) {
                seenBase = true;
            } else if (c.fragmentId() != null) {
                (seenBase ? after : before).add(c.fragmentId());
            }
        }
        return new Includes(before, after);
    }

    private static List<Edit> into(String text, Section t, Includes includes, Set<String> ownFragments) {
        List<Edit> edits = new ArrayList<>();
        for (Child c : t.children()) {
            if (c.fragmentId() != null && ownFragments.contains(c.fragmentId())) {
                int[] span = line(text, c.start(), c.end());
                edits.add(new Edit(span[0], span[1] - span[0], ""));
            }
        }
        if (t.selfClosing()) {
            String indent = indentOf(text, t.start());
            String child = childIndent(indent);
            StringBuilder s = new StringBuilder("<" + t.name() + ">\n");
            concat(includes.before(), includes.after()).forEach(id -> s.append(child).append(include(id)).append('\n'));
            s.append(indent).append("</").append(t.name()).append('>');
            edits.add(new Edit(t.start(), t.end() - t.start(), s.toString()));
            return edits;
        }
        Optional<Child> base = t.base();
        if (base.isPresent()) {
            Child b = base.get();
            edits.add(insertAround(text, b, includes.before(), true));
            edits.add(insertAround(text, b, includes.after(), false));
        } else {
            Optional<Child> first = t.children().stream().findFirst();
            edits.add(first.isPresent() ? insertAround(text, first.get(), concat(includes.before(), includes.after()), true)
                    : new Edit(t.openEnd(), 0, String.join("", concat(includes.before(), includes.after()).stream()
                    .map(ApiPolicyMerge::include).toList())));
        }
        return edits.stream().filter(e -> e.delete() > 0 || !e.insert().isEmpty()).toList();
    }

    /** Lines of their own before or after an element on its own line; inline otherwise. */
    private static Edit insertAround(String text, Child anchor, List<String> ids, boolean before) {
        if (ids.isEmpty()) {
            return new Edit(anchor.start(), 0, "");
        }
        int[] span = line(text, anchor.start(), anchor.end());
        if (span[1] > anchor.end() && text.charAt(span[1] - 1) == '\n') {
            String indent = indentOf(text, anchor.start());
            StringBuilder s = new StringBuilder();
            ids.forEach(id -> s.append(indent).append(include(id)).append('\n'));
            return new Edit(before ? span[0] : span[1], 0, s.toString());
        }
        StringBuilder s = new StringBuilder();
        ids.forEach(id -> s.append(include(id)));
        return new Edit(before ? anchor.start() : anchor.end(), 0, s.toString());
    }

    private static Edit newSection(Document team, String name, Includes includes) {
        String text = team.text();
        Section previous = null;
        for (String n : SECTIONS.subList(0, SECTIONS.indexOf(name))) {
            previous = team.sections().getOrDefault(n, previous);
        }
        Section any = team.sections().values().stream().findFirst().orElse(null);
        String indent = any == null ? "\t" : indentOf(text, any.start());
        String child = childIndent(indent);
        StringBuilder s = new StringBuilder(indent + "<" + name + ">\n");
        includes.before().forEach(id -> s.append(child).append(include(id)).append('\n'));
        s.append(child).append("<base />\n");
        includes.after().forEach(id -> s.append(child).append(include(id)).append('\n'));
        s.append(indent).append("</").append(name).append(">\n");
        int at = previous != null ? previous.end() : team.policiesOpenEnd();
        if (text.startsWith("\n", at)) {
            at++;
        } else {
            s.insert(0, '\n');
            s.setLength(s.length() - 1);
        }
        return new Edit(at, 0, s.toString());
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private static String include(String id) {
        return "<include-fragment fragment-id=\"" + id + "\" />";
    }

    private static String childIndent(String indent) {
        return indent + (indent.startsWith(" ") ? "  " : "\t");
    }

    /** The whole line when the element is alone on it (with its newline), else just the element. */
    private static int[] line(String text, int start, int end) {
        int lineStart = start;
        while (lineStart > 0 && (text.charAt(lineStart - 1) == ' ' || text.charAt(lineStart - 1) == '\t')) {
            lineStart--;
        }
        int lineEnd = end;
        while (lineEnd < text.length() && (text.charAt(lineEnd) == ' ' || text.charAt(lineEnd) == '\t' || text.charAt(lineEnd) == '\r')) {
            lineEnd++;
        }
        boolean aloneBefore = lineStart == 0 || text.charAt(lineStart - 1) == '\n';
        boolean aloneAfter = lineEnd == text.length() || text.charAt(lineEnd) == '\n';
        if (aloneBefore && aloneAfter) {
            return new int[]{lineStart, Math.min(text.length(), lineEnd + 1)};
        }
        return new int[]{start, end};
    }

    private static String indentOf(String text, int at) {
        int s = at;
        while (s > 0 && (text.charAt(s - 1) == ' ' || text.charAt(s - 1) == '\t')) {
            s--;
        }
        return s == 0 || text.charAt(s - 1) == '\n' ? text.substring(s, at) : "";
    }

    // ---------------------------------------------------------------- scanning

    private record Open(String name, int start, int openEnd) {
    }

    private static Document parse(String text, String what) {
        Deque<Open> stack = new ArrayDeque<>();
        Map<String, Section> sections = new LinkedHashMap<>();
        List<Child> children = new ArrayList<>();
        int policiesOpenEnd = -1;
        int i = 0;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (c == '@' && i + 1 < text.length() && (text.charAt(i + 1) == '(' || text.charAt(i + 1) == '{')) {
                i = skipExpression(text, i + 1, what);
                continue;
            }
            if (c != '<') {
                i++;
                continue;
            }
            if (text.startsWith("<!--", i)) {
                i = after(text, "-->", i, what, "comment");
                continue;
            }
            if (text.startsWith("<![CDATA[", i)) {
                i = after(text, "]]>", i, what, "CDATA section");
                continue;
            }
            if (text.startsWith("<?", i) || text.startsWith("<!", i)) {
                i = after(text, ">", i, what, "declaration");
                continue;
            }
            boolean closing = i + 1 < text.length() && text.charAt(i + 1) == '/';
            int nameStart = i + (closing ? 2 : 1);
            if (nameStart >= text.length() || !Character.isLetter(text.charAt(nameStart))) {
                i++; // a '<' in text, as in "a < b" outside an expression
                continue;
            }
            int nameEnd = nameStart;
            while (nameEnd < text.length() && (Character.isLetterOrDigit(text.charAt(nameEnd)) || "-_.:".indexOf(text.charAt(nameEnd)) >= 0)) {
                nameEnd++;
            }
            String name = text.substring(nameStart, nameEnd);
            int tagEnd = endOfTag(text, nameEnd, what);
            boolean selfClosing = !closing && text.charAt(tagEnd - 2) == '/';
            int depth = stack.size();
            if (closing) {
                Open open = stack.poll();
                if (open == null || !open.name().equals(name)) {
                    throw new CliFailure(what + " is not a policy document APIM accepts: </" + name + "> at line "
                            + lineOf(text, i) + " closes " + (open == null ? "nothing" : "<" + open.name() + ">"));
                }
                if (stack.size() == 1) {
                    sections.put(name, new Section(name, open.start(), open.openEnd(), i, tagEnd, false, List.copyOf(children)));
                    children.clear();
                } else if (stack.size() == 2) {
                    children.add(new Child(name, open.start(), tagEnd, null));
                }
            } else {
                if (depth == 0 && (!name.equals("policies") || policiesOpenEnd >= 0)) {
                    throw new CliFailure(what + " is not a policy document: its root must be <policies>, found <" + name
                            + "> at line " + lineOf(text, i));
                }
                if (depth == 0) {
                    policiesOpenEnd = tagEnd;
                } else if (depth == 1 && selfClosing) {
                    sections.put(name, new Section(name, i, tagEnd, i, tagEnd, true, List.of()));
                } else if (depth == 2 && selfClosing) {
                    Matcher m = FRAGMENT_ID.matcher(text.substring(nameEnd, tagEnd));
                    children.add(new Child(name, i, tagEnd, name.equals("include-fragment") && m.find() ? m.group(1) : null));
                }
                if (!selfClosing) {
                    stack.push(new Open(name, i, tagEnd));
                }
            }
            i = tagEnd;
        }
        if (!stack.isEmpty()) {
            throw new CliFailure(what + " is not a policy document APIM accepts: <" + stack.peek().name()
                    + "> at line " + lineOf(text, stack.peek().start()) + " is never closed");
        }
        if (policiesOpenEnd < 0) {
            throw new CliFailure(what + " is not a policy document: it has no <policies> root");
        }
        return new Document(text, policiesOpenEnd, sections);
    }

    /** The end of a tag, past quoted attribute values (which in raw XML may hold expressions with quotes). */
    private static int endOfTag(String text, int from, String what) {
        int i = from;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (c == '>') {
                return i + 1;
            }
            if (c == '"' || c == '\'') {
                if (text.startsWith("@(", i + 1) || text.startsWith("@{", i + 1)) {
                    i = skipExpression(text, i + 2, what);
                    while (i < text.length() && text.charAt(i) != c) {
                        i++;
                    }
                } else {
                    int close = text.indexOf(c, i + 1);
                    if (close < 0) {
                        break;
                    }
                    i = close;
                }
            }
            i++;
        }
        throw new CliFailure(what + " is not a policy document APIM accepts: a tag at line " + lineOf(text, from)
                + " is never closed");
    }

    /** Past the bracket opened at {@code open}, skipping C# string and character literals. */
    private static int skipExpression(String text, int open, String what) {
        char opening = text.charAt(open);
        char closing = opening == '(' ? ')' : '}';
        int depth = 0;
        int i = open;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (c == '"') {
                boolean verbatim = i > 0 && text.charAt(i - 1) == '@';
                i++;
                while (i < text.length()) {
                    char d = text.charAt(i);
                    if (!verbatim && d == '\\') {
                        i += 2;
                        continue;
                    }
                    if (d == '"') {
                        if (verbatim && text.startsWith("\"\"", i)) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i++;
                }
            } else if (c == '\'') {
                int close = text.indexOf('\'', i + (text.startsWith("'\\", i) ? 3 : 2));
                i = close < 0 ? i : close;
            } else if (c == opening) {
                depth++;
            } else if (c == closing) {
                depth--;
                if (depth == 0) {
                    return i + 1;
                }
            }
            i++;
        }
        throw new CliFailure(what + " is not a policy document APIM accepts: the expression at line " + lineOf(text, open)
                + " is never closed");
    }

    private static int after(String text, String end, int from, String what, String kind) {
        int at = text.indexOf(end, from);
        if (at < 0) {
            throw new CliFailure(what + " is not a policy document APIM accepts: the " + kind + " at line "
                    + lineOf(text, from) + " is never closed");
        }
        return at + end.length();
    }

    private static int lineOf(String text, int at) {
        int line = 1;
        for (int i = 0; i < at && i < text.length(); i++) {
            if (text.charAt(i) == '\n') {
                line++;
            }
        }
        return line;
    }
}
