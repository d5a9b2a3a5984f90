package dev.tokenmeter.policies.set;

import dev.tokenmeter.policies.manifest.ManifestLoader;
import dev.tokenmeter.policies.manifest.PolicySetManifest;
import dev.tokenmeter.policies.source.ExpressionScanner;
import dev.tokenmeter.policies.source.LineNumberedXml;
import dev.tokenmeter.policies.source.MaskedSource;
import dev.tokenmeter.policies.source.PolicyExpression;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A policy-set folder loaded once: the manifest, and every fragment and policy it declares, masked and parsed.
 * Expression ids are unique across the set, so one compiled assembly can hold every expression.
 */
public final class PolicySet {

    private static final Pattern INCLUDE = Pattern.compile("<include-fragment\\b[^>]*?fragment-id\\s*=\\s*\"([^\"]*)\"[^>]*/>");
    private static final Pattern FRAGMENT_BODY = Pattern.compile("(?s)<fragment\\b[^>]*>(.*)</fragment>");

    private final Path dir;
    private final PolicySetManifest manifest;
    private final Map<String, PolicyFile> files;

    private PolicySet(Path dir, PolicySetManifest manifest, Map<String, PolicyFile> files) {
        this.dir = dir;
        this.manifest = manifest;
        this.files = files;
    }

    /** @throws ManifestLoader.ManifestException when {@code policy-set.json} is unusable */
    public static PolicySet load(Path dir) {
        PolicySetManifest manifest = ManifestLoader.load(dir);
        ExpressionScanner scanner = new ExpressionScanner(new AtomicInteger(1));
        Map<String, PolicyFile> files = new LinkedHashMap<>();
        for (PolicySetManifest.FragmentDecl fragment : manifest.fragments()) {
            if (fragment.file() != null) {
                files.putIfAbsent(fragment.file(), read(dir, fragment.file(), PolicyFile.Kind.FRAGMENT, scanner));
            }
        }
        for (PolicySetManifest.PolicyDecl policy : manifest.policies()) {
            if (policy.file() != null) {
                files.putIfAbsent(policy.file(), read(dir, policy.file(), PolicyFile.Kind.POLICY, scanner));
            }
        }
        return new PolicySet(dir, manifest, files);
    }

    private static PolicyFile read(Path dir, String relative, PolicyFile.Kind kind, ExpressionScanner scanner) {
        Path path = dir.resolve(relative);
        if (!Files.isRegularFile(path)) {
            return new PolicyFile(relative, kind, true, null, null, null);
        }
        String text;
        try {
            text = Files.readString(path, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        MaskedSource source = scanner.scan(relative, text);
        try {
            return new PolicyFile(relative, kind, false, source, LineNumberedXml.parse(source.maskedText()), null);
        } catch (LineNumberedXml.XmlSyntaxError e) {
            return new PolicyFile(relative, kind, false, source, null, e);
        }
    }

    public Path dir() {
        return dir;
    }

    public PolicySetManifest manifest() {
        return manifest;
    }

    public List<PolicyFile> files() {
        return List.copyOf(files.values());
    }

    public Optional<PolicyFile> file(String relative) {
        return Optional.ofNullable(files.get(relative));
    }

    public Optional<PolicyFile> fragment(String id) {
        return manifest.fragment(id).flatMap(f -> file(f.file()));
    }

    /** Every expression of every file, by id. */
    public Map<Integer, PolicyExpression> expressions() {
        Map<Integer, PolicyExpression> all = new LinkedHashMap<>();
        for (PolicyFile file : files.values()) {
            if (file.source() != null) {
                file.source().expressions().forEach(e -> all.put(e.id(), e));
            }
        }
        return all;
    }

    /**
     * The masked text of a policy with every {@code include-fragment} replaced by the fragment's content, recursively
     * (APIM allows fragments to include fragments). Expressions stay masked; see {@link MaskedSource#unmask}.
     *
     * @throws IllegalArgumentException when a fragment is missing or includes itself
     */
    public String effectiveMasked(String policyFile) {
        PolicyFile file = file(policyFile).orElseThrow(() -> new IllegalArgumentException(
                "no policy " + policyFile + " in " + dir.resolve(ManifestLoader.FILE_NAME)));
        if (file.source() == null) {
            throw new IllegalArgumentException("policy file " + policyFile + " does not exist");
        }
        return expand(file.source().maskedText(), new ArrayList<>());
    }

    private String expand(String masked, List<String> including) {
        Matcher m = INCLUDE.matcher(masked);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String id = m.group(1);
            if (including.contains(id)) {
                throw new IllegalArgumentException("fragment " + id + " includes itself via " + including);
            }
            PolicyFile fragment = fragment(id).filter(f -> f.source() != null).orElseThrow(() ->
                    new IllegalArgumentException("include-fragment " + id + " names no fragment file in the manifest"));
            Matcher body = FRAGMENT_BODY.matcher(fragment.source().maskedText());
            if (!body.find()) {
                throw new IllegalArgumentException(fragment.path() + " has no <fragment> element");
            }
            including.add(id);
            String expanded = expand(body.group(1), including);
            including.remove(id);
            m.appendReplacement(out, Matcher.quoteReplacement(expanded.strip()));
        }
        m.appendTail(out);
        return out.toString();
    }
}
