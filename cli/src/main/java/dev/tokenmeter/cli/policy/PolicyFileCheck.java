package dev.tokenmeter.cli.policy;

import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.policies.manifest.ManifestLoader;
import dev.tokenmeter.policies.manifest.PolicySetManifest;
import dev.tokenmeter.policies.validate.ExpressionCompilation;
import dev.tokenmeter.policies.validate.PolicySetValidator;
import dev.tokenmeter.policies.validate.ValidationResult;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Validates the set as it would be deployed with {@code --policy FILE}: the same checks as 'policy validate', with
 * the file in the place of the set's own policy document (a copy of the set in a temporary folder, deleted after),
 * so the file's includes must resolve to the set's fragments and its sections and policies must be valid.
 */
final class PolicyFileCheck {

    /** A finding, with the file the user knows: theirs for the policy document, the set's for the rest. */
    record Located(Path file, dev.tokenmeter.policies.validate.Finding finding) {
    }

    /** The findings, and what could not be checked (the C# compiler missing): deploy says both, as validate does. */
    record Checked(java.util.List<Located> findings, java.util.List<String> notes) {
    }

    private PolicyFileCheck() {
    }

    static Checked validate(Path setDir, Path policyFile, ExpressionCompilation compilation) {
        if (policyFile == null) {
            return inPlace(setDir, compilation);
        }
        if (!Files.isRegularFile(policyFile)) {
            throw new CliFailure("--policy " + policyFile + ": no such file");
        }
        PolicySetManifest manifest;
        try {
            manifest = ManifestLoader.load(setDir);
        } catch (RuntimeException e) {
            return inPlace(setDir, compilation);
        }
        if (manifest.policies().isEmpty()) {
            throw new CliFailure("--policy " + policyFile + ": the policy set in " + setDir + " declares no policy document, so the file cannot be checked in its place");
        }
        String placed = manifest.policies().get(0).file();
        Path copy = null;
        try {
            copy = Files.createTempDirectory("tokenmeter-policy-check");
            Path target = copy;
            try (Stream<Path> files = Files.walk(setDir)) {
                for (Path f : files.toList()) {
                    Path to = target.resolve(setDir.relativize(f).toString());
                    if (Files.isDirectory(f)) {
                        Files.createDirectories(to);
                    } else {
                        Files.copy(f, to);
                    }
                }
            }
            Files.copy(policyFile, target.resolve(placed), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            ValidationResult result = PolicySetValidator.validate(target, compilation);
            return new Checked(result.findings().stream()
                    .map(f -> new Located(Path.of(f.file()).normalize().equals(Path.of(placed).normalize())
                            ? policyFile : setDir.resolve(f.file()), f)).toList(), result.notes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            delete(copy);
        }
    }

    private static Checked inPlace(Path setDir, ExpressionCompilation compilation) {
        ValidationResult result = PolicySetValidator.validate(setDir, compilation);
        return new Checked(result.findings().stream().map(f -> new Located(setDir.resolve(f.file()), f)).toList(),
                result.notes());
    }

    private static void delete(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // a leftover temporary copy of the set holds nothing secret
        }
    }
}
