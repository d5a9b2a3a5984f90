package dev.tokenmeter.cli;

import dev.tokenmeter.policies.manifest.ManifestLoader;
import dev.tokenmeter.policies.manifest.PolicySetManifest;
import picocli.CommandLine.IVersionProvider;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/** The CLI's build version and commit, and the version of the policy set it would deploy from here. */
public final class Version implements IVersionProvider {

    private final Environment env;

    Version(Environment env) {
        this.env = env;
    }

    @Override
    public String[] getVersion() {
        Properties p = new Properties();
        try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            // the version is informative: a jar without it still runs
        }
        Path dir = env.variable("TOKENMETER_POLICY_DIR").map(Path::of).orElse(Path.of("policies"));
        String set;
        if (Files.isRegularFile(dir.resolve(ManifestLoader.FILE_NAME))) {
            try {
                PolicySetManifest m = ManifestLoader.load(dir);
                set = m.name() + " " + m.version() + " in " + dir;
            } catch (RuntimeException e) {
                set = "unreadable " + dir.resolve(ManifestLoader.FILE_NAME) + " (run 'tokenmeter policy validate')";
            }
        } else {
            set = "none in " + dir + " (TOKENMETER_POLICY_DIR names it)";
        }
        return new String[]{"tokenmeter " + p.getProperty("version", "(development build)") + " (commit "
                + commit(p) + ")", "policy set: " + set};
    }

    /** The build writes the commit it was made from, or "unknown" where it had no git (a source tarball). */
    static String commit(Properties p) {
        String commit = p.getProperty("commit", "unknown");
        return commit.matches("[0-9a-f]{7,40}") ? commit : "unknown";
    }
}
