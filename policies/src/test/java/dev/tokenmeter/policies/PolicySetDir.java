package dev.tokenmeter.policies;

import dev.tokenmeter.testkit.ProjectFiles;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** Locates the project's policy set and copies it into a temp folder for tests that break it on purpose. */
public final class PolicySetDir {

    private PolicySetDir() {
    }

    public static Path projectRoot() {
        return ProjectFiles.root();
    }

    /** {@code policies/}: the folder holding policy-set.json. */
    public static Path shipped() {
        return projectRoot().resolve("policies");
    }

    /** Copies the manifest, fragments and API policies (not sources or build output) into {@code target}. */
    public static Path copyTo(Path target) {
        Path source = shipped();
        try {
            Files.copy(source.resolve("policy-set.json"), target.resolve("policy-set.json"));
            for (String dir : new String[] {"fragments", "apis"}) {
                Files.createDirectories(target.resolve(dir));
                try (Stream<Path> files = Files.list(source.resolve(dir))) {
                    for (Path f : (Iterable<Path>) files::iterator) {
                        Files.copy(f, target.resolve(dir).resolve(f.getFileName()));
                    }
                }
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Replaces exactly one occurrence of {@code from} in {@code dir/file}; fails loudly when it is not there once. */
    public static void edit(Path dir, String file, String from, String to) {
        Path path = dir.resolve(file);
        try {
            String text = Files.readString(path);
            int at = text.indexOf(from);
            if (at < 0 || text.indexOf(from, at + 1) >= 0) {
                throw new IllegalArgumentException("'" + from + "' occurs " + (at < 0 ? "never" : "more than once") + " in " + file);
            }
            Files.writeString(path, text.substring(0, at) + to + text.substring(at + from.length()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** 1-based line of the first occurrence of {@code needle} in {@code dir/file}. */
    public static int lineOf(Path dir, String file, String needle) {
        try {
            String text = Files.readString(dir.resolve(file));
            int at = text.indexOf(needle);
            if (at < 0) {
                throw new IllegalArgumentException(needle + " not in " + file);
            }
            return (int) text.substring(0, at).chars().filter(c -> c == '\n').count() + 1;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
