package dev.tokenmeter.policies.harness;

import dev.tokenmeter.policies.source.PolicyExpression;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Compiles every expression of a policy set, with the context model and the host loop, into ONE executable with
 * {@code mcs} (each mcs run costs about a second, so never one per expression). The result is cached under
 * {@code <cache>/<sha-256 of the sources>} and reused by every later run.
 * {@code #line} directives and a padded first line make the compiler's positions those of the policy file: line
 * and column.
 */
public final class ExpressionAssembly {

    private static final String RESOURCES = "/dev/tokenmeter/policies/harness/";
    private static final long COMPILE_TIMEOUT_SECONDS = 120;
    private static final String GENERATED = "Expressions.cs";
    /** mcs: {@code file(line,column): error CS1061: message}. */
    private static final Pattern DIAGNOSTIC = Pattern.compile("^(.+?)\\((\\d+),(\\d+)\\): error (CS\\d+): (.*)$");

    private ExpressionAssembly() {
    }

    /** Compiled executable for these expressions, compiling only when no cached one exists. */
    public static Path compile(MonoToolchain toolchain, Collection<PolicyExpression> expressions, Path cacheRoot) {
        Generated generated = generate(expressions);
        String model = resource("ApimContext.cs");
        String host = resource("Host.cs");
        Path dir = cacheRoot.resolve(sha256(generated.source() + model + host + toolchain));
        Path exe = dir.resolve("policy.exe");
        if (Files.isRegularFile(exe)) {
            return exe;
        }
        Path work = null;
        try {
            Files.createDirectories(cacheRoot);
            // built in a directory of its own and renamed into place at once, so two processes compiling the same
            // set never read each other's half-written files, and a reader never sees a half-written executable
            work = Files.createTempDirectory(cacheRoot, "build-");
            Files.writeString(work.resolve(GENERATED), generated.source());
            Files.writeString(work.resolve("ApimContext.cs"), model);
            Files.writeString(work.resolve("Host.cs"), host);
            Files.copy(toolchain.newtonsoft(), work.resolve("Newtonsoft.Json.dll"));
            List<String> command = List.of(toolchain.mcs().toString(), "-nologo", "-langversion:7", "-target:exe",
                    "-out:" + work.resolve("policy.exe"), "-r:" + work.resolve("Newtonsoft.Json.dll"), "-r:System.Xml.Linq.dll",
                    "-r:System.Core.dll", "-r:System.Xml.dll", "-nowarn:219,414,649,1591",
                    work.resolve("ApimContext.cs").toString(), work.resolve("Host.cs").toString(),
                    work.resolve(GENERATED).toString());
            Path log = work.resolve("mcs.log");
            Process mcs = new ProcessBuilder(command).directory(work.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            try {
                if (!mcs.waitFor(COMPILE_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                    throw new HarnessException("mcs did not finish within " + COMPILE_TIMEOUT_SECONDS + " s");
                }
            } finally {
                if (mcs.isAlive()) {
                    mcs.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
            String output = Files.readString(log);
            if (mcs.exitValue() != 0) {
                throw new CompilationFailed(output, diagnostics(output, generated, work));
            }
            if (Files.isDirectory(dir) && !Files.isRegularFile(exe)) {
                deleteTree(dir); // left by an interrupted or older build: no executable in it
            }
            try {
                Files.move(work, dir, StandardCopyOption.ATOMIC_MOVE);
                work = null;
            } catch (java.nio.file.FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException someoneElseWon) {
                // the same sources compiled by another process meanwhile: its executable is as good as ours
                if (!Files.isRegularFile(exe)) {
                    throw new HarnessException("cannot put the compiled expressions in " + dir + ": it exists without policy.exe");
                }
            }
            return exe;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HarnessException("interrupted while compiling expressions", e);
        } finally {
            deleteTree(work);
        }
    }

    private static void deleteTree(Path dir) {
        if (dir == null) {
            return;
        }
        try (var files = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) files.sorted(java.util.Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // a leftover build directory in the cache is harmless
        }
    }

    /** One error of the C# compiler, at a policy file's line and column (0 when only the line is known). */
    public record Diagnostic(String file, int line, int column, String code, String message) {
        public String format() {
            return file + ":" + line + (column > 0 ? ":" + column : "") + ": error " + code + ": " + message;
        }
    }

    /** mcs refused the expressions; {@link #diagnostics()} are its errors, located in the policy files. */
    public static final class CompilationFailed extends RuntimeException {
        private final transient List<Diagnostic> diagnostics;

        CompilationFailed(String output, List<Diagnostic> diagnostics) {
            super("policy expressions do not compile:\n" + (diagnostics.isEmpty() ? output
                    : String.join("\n", diagnostics.stream().map(Diagnostic::format).toList())));
            this.diagnostics = List.copyOf(diagnostics);
        }

        public List<Diagnostic> diagnostics() {
            return diagnostics;
        }
    }

    /** The generated source, and which of its lines belong to which expression (for errors outside #line). */
    record Generated(String source, TreeMap<Integer, PolicyExpression> expressionFromLine) {
    }

    /**
     * One static method per expression, {@code E<id>(IProxyRequestContext context)}, so each expression sees exactly
     * what APIM gives it: the {@code context} variable and the namespaces APIM imports. The expression's first line
     * is padded to the column it starts at in the file, and later lines are the file's own, so mcs's columns are
     * the file's (mcs counts a tab as one column, as editors' "column" does).
     */
    static Generated generate(Collection<PolicyExpression> expressions) {
        StringBuilder cs = new StringBuilder();
        TreeMap<Integer, PolicyExpression> fromLine = new TreeMap<>();
        cs.append("using System;\nusing System.Collections.Generic;\nusing System.Linq;\nusing System.Text;\n")
                .append("using System.Text.RegularExpressions;\nusing System.Xml.Linq;\nusing Newtonsoft.Json;\n")
                .append("using Newtonsoft.Json.Linq;\nusing Tokenmeter.Apim;\n\nnamespace Tokenmeter.Policy\n{\n")
                .append("public static class Expressions\n{\n");
        List<Integer> ids = new ArrayList<>();
        for (PolicyExpression e : expressions) {
            ids.add(e.id());
            fromLine.put(lines(cs) + 1, e);
            String file = e.file().replace("\\", "/").replace("\"", "");
            cs.append("public static object E").append(e.id()).append("(IProxyRequestContext context)\n");
            cs.append(e.multiStatement() ? "{\n" : "{ return (\n");
            cs.append("#line ").append(e.line()).append(" \"").append(file).append("\"\n");
            cs.append(" ".repeat(e.column() > 0 ? e.column() - 1 + 2 : 0)).append(e.code()).append('\n');
            cs.append("#line default\n");
            cs.append(e.multiStatement() ? "}\n" : "); }\n");
        }
        fromLine.put(lines(cs) + 1, null);
        cs.append("}\n\npublic static class ExpressionTable\n{\n")
                .append("public static readonly Dictionary<int, Func<IProxyRequestContext, object>> All = ")
                .append("new Dictionary<int, Func<IProxyRequestContext, object>>\n{\n");
        for (int id : ids) {
            cs.append("{ ").append(id).append(", Expressions.E").append(id).append(" },\n");
        }
        cs.append("};\n}\n}\n");
        return new Generated(cs.toString(), fromLine);
    }

    /**
     * mcs's errors in policy-file terms. Those it places in the generated wrapper instead (a multi-statement
     * expression whose paths do not all return, an expression that closes the wrapper's bracket) are put at the
     * start of the expression they belong to.
     */
    static List<Diagnostic> diagnostics(String output, Generated generated, Path dir) {
        List<Diagnostic> out = new ArrayList<>();
        for (String line : output.split("\\R")) {
            Matcher m = DIAGNOSTIC.matcher(line.strip());
            if (!m.matches()) {
                continue;
            }
            // mcs names a #line file relative to the directory it compiled in; the policy set's paths are relative
            Path named = Path.of(m.group(1));
            String file = named.startsWith(dir.toAbsolutePath()) ? dir.toAbsolutePath().relativize(named).toString().replace('\\', '/') : m.group(1);
            int row = Integer.parseInt(m.group(2));
            int column = Integer.parseInt(m.group(3));
            if (Path.of(file).getFileName().toString().equals(GENERATED)) {
                var owner = generated.expressionFromLine().floorEntry(row);
                if (owner == null || owner.getValue() == null) {
                    out.add(new Diagnostic(file, row, column, m.group(4), m.group(5)));
                    continue;
                }
                PolicyExpression e = owner.getValue();
                out.add(new Diagnostic(e.file(), e.line(), e.column(), m.group(4), m.group(5)));
            } else {
                out.add(new Diagnostic(file, row, column, m.group(4), m.group(5)));
            }
        }
        return out;
    }

    private static int lines(CharSequence s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == '\n') {
                n++;
            }
        }
        return n;
    }

    private static String resource(String name) {
        try (InputStream in = ExpressionAssembly.class.getResourceAsStream(RESOURCES + name)) {
            if (in == null) {
                throw new IllegalStateException("missing harness resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)))
                    .substring(0, 24);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
