package dev.tokenmeter.policies.harness;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The real C# toolchain the harness compiles and runs policy expressions with: Mono's {@code mcs} and {@code mono}
 * from PATH, and Newtonsoft.Json as Debian's {@code libnewtonsoft-json-cil-dev} installs it (found through its
 * pkg-config file, or {@code TOKENMETER_NEWTONSOFT_DLL}).
 */
public record MonoToolchain(Path mcs, Path mono, Path newtonsoft) {

    public static final String HOW_TO_INSTALL = "apt-get install -y mono-mcs libnewtonsoft-json-cil-dev";
    public static final String NOT_FOUND = "mcs, mono or Newtonsoft.Json not found (install them: " + HOW_TO_INSTALL + ")";

    private static final List<Path> PKG_CONFIG_DIRS = List.of(Path.of("/usr/lib/pkgconfig"), Path.of("/usr/share/pkgconfig"),
            Path.of("/usr/local/lib/pkgconfig"), Path.of("/usr/lib/x86_64-linux-gnu/pkgconfig"));

    /** Looks in this process's environment. */
    public static Optional<MonoToolchain> find() {
        return find(System.getenv());
    }

    /** @param environment where PATH and TOKENMETER_NEWTONSOFT_DLL are read */
    public static Optional<MonoToolchain> find(Map<String, String> environment) {
        Optional<Path> mcs = onPath(environment.get("PATH"), "mcs");
        Optional<Path> mono = onPath(environment.get("PATH"), "mono");
        Optional<Path> dll = findNewtonsoft(environment.get("TOKENMETER_NEWTONSOFT_DLL"));
        if (mcs.isEmpty() || mono.isEmpty() || dll.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new MonoToolchain(mcs.get(), mono.get(), dll.get()));
    }

    private static Optional<Path> onPath(String path, String command) {
        if (path == null) {
            return Optional.empty();
        }
        return Stream.of(path.split(File.pathSeparator))
                .filter(dir -> !dir.isBlank())
                .map(dir -> Path.of(dir, command))
                .filter(Files::isExecutable)
                .findFirst();
    }

    private static Optional<Path> findNewtonsoft(String explicit) {
        if (explicit != null && Files.isRegularFile(Path.of(explicit))) {
            return Optional.of(Path.of(explicit));
        }
        Pattern reference = Pattern.compile("-r:(\\S+Newtonsoft\\.Json\\.dll)");
        for (Path dir : PKG_CONFIG_DIRS) {
            Path pc = dir.resolve("newtonsoft-json.pc");
            if (!Files.isRegularFile(pc)) {
                continue;
            }
            try {
                String text = Files.readString(pc);
                String libdir = valueOf(text, "libdir");
                Matcher m = reference.matcher(text);
                if (m.find()) {
                    Path dll = Path.of(m.group(1).replace("${libdir}", libdir == null ? "" : libdir)
                            .replace("${exec_prefix}", "/usr").replace("${prefix}", "/usr"));
                    if (Files.isRegularFile(dll)) {
                        return Optional.of(dll);
                    }
                }
            } catch (IOException e) {
                // an unreadable .pc file is the same as none
            }
        }
        return Optional.empty();
    }

    private static String valueOf(String pc, String key) {
        Matcher m = Pattern.compile("(?m)^" + key + "=(.*)$").matcher(pc);
        if (!m.find()) {
            return null;
        }
        return m.group(1).trim().replace("${exec_prefix}", "/usr").replace("${prefix}", "/usr");
    }
}
