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
import java.util.concurrent.TimeUnit;

/**
 * Compiles every expression of a policy set, with the context model and the host loop, into ONE executable with
 * {@code mcs} (each mcs run costs about a second, so never one per expression). The result is cached under
 * {@code target/expression-harness/<sha-256 of the sources>} and reused by every test class and later run.
 * {@code #line} directives make compiler errors point at the policy file and line.
 */
final class ExpressionAssembly {

    private static final String RESOURCES = "/dev/tokenmeter/policies/harness/";
    private static final long COMPILE_TIMEOUT_SECONDS = 120;

    private ExpressionAssembly() {
    }

    /** Compiled executable for these expressions, compiling only when no cached one exists. */
    static Path compile(MonoToolchain toolchain, Collection<PolicyExpression> expressions, Path cacheRoot) {
        String generated = generate(expressions);
        String model = resource("ApimContext.cs");
        String host = resource("Host.cs");
        Path dir = cacheRoot.resolve(sha256(generated + model + host + toolchain));
        Path exe = dir.resolve("policy.exe");
        if (Files.isRegularFile(exe)) {
            return exe;
        }
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("Expressions.cs"), generated);
            Files.writeString(dir.resolve("ApimContext.cs"), model);
            Files.writeString(dir.resolve("Host.cs"), host);
            Files.copy(toolchain.newtonsoft(), dir.resolve("Newtonsoft.Json.dll"), StandardCopyOption.REPLACE_EXISTING);
            Path partial = dir.resolve("policy.exe.partial");
            List<String> command = List.of(toolchain.mcs().toString(), "-nologo", "-langversion:7", "-target:exe",
                    "-out:" + partial, "-r:" + dir.resolve("Newtonsoft.Json.dll"), "-r:System.Xml.Linq.dll",
                    "-r:System.Core.dll", "-r:System.Xml.dll", "-nowarn:219,414,649,1591",
                    dir.resolve("ApimContext.cs").toString(), dir.resolve("Host.cs").toString(),
                    dir.resolve("Expressions.cs").toString());
            Path log = dir.resolve("mcs.log");
            Process mcs = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            try {
                if (!mcs.waitFor(COMPILE_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                    throw new AssertionError("mcs did not finish within " + COMPILE_TIMEOUT_SECONDS + " s");
                }
            } finally {
                if (mcs.isAlive()) {
                    mcs.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
            if (mcs.exitValue() != 0) {
                throw new CompilationFailed(Files.readString(log));
            }
            // atomic so a concurrent reader never sees a half-written executable
            Files.move(partial, exe, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return exe;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while compiling expressions", e);
        }
    }

    /** mcs refused the expressions; the message holds its diagnostics, located at policy file:line. */
    static final class CompilationFailed extends AssertionError {
        CompilationFailed(String diagnostics) {
            super("policy expressions do not compile:\n" + diagnostics);
        }
    }

    /**
     * One static method per expression, {@code E<id>(IProxyRequestContext context)}, so each expression sees exactly
     * what APIM gives it: the {@code context} variable and the namespaces APIM imports.
     */
    static String generate(Collection<PolicyExpression> expressions) {
        StringBuilder cs = new StringBuilder();
        cs.append("using System;\nusing System.Collections.Generic;\nusing System.Linq;\nusing System.Text;\n")
                .append("using System.Text.RegularExpressions;\nusing System.Xml.Linq;\nusing Newtonsoft.Json;\n")
                .append("using Newtonsoft.Json.Linq;\nusing Tokenmeter.Apim;\n\nnamespace Tokenmeter.Policy\n{\n")
                .append("public static class Expressions\n{\n");
        List<Integer> ids = new ArrayList<>();
        for (PolicyExpression e : expressions) {
            ids.add(e.id());
            String file = e.file().replace("\\", "/").replace("\"", "");
            cs.append("public static object E").append(e.id()).append("(IProxyRequestContext context)\n");
            cs.append("#line ").append(e.line()).append(" \"").append(file).append("\"\n");
            if (e.multiStatement()) {
                cs.append("{").append(e.code()).append("}\n");
            } else {
                cs.append("{ return (").append(e.code()).append("); }\n");
            }
            cs.append("#line default\n");
        }
        cs.append("}\n\npublic static class ExpressionTable\n{\n")
                .append("public static readonly Dictionary<int, Func<IProxyRequestContext, object>> All = ")
                .append("new Dictionary<int, Func<IProxyRequestContext, object>>\n{\n");
        for (int id : ids) {
            cs.append("{ ").append(id).append(", Expressions.E").append(id).append(" },\n");
        }
        cs.append("};\n}\n}\n");
        return cs.toString();
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
