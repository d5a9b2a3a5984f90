package dev.tokenmeter.policies.manifest;

import java.util.List;
import java.util.Optional;

/**
 * {@code policy-set.json}: what the policy set consists of and what it needs from the APIM instance. The CLI
 * deploys from it (fragments with their descriptions, named values, logger) and the validator checks the files
 * against it.
 */
public record PolicySetManifest(
        String name,
        String version,
        String description,
        String format,
        String minimumApimApiVersion,
        List<FragmentDecl> fragments,
        List<PolicyDecl> policies,
        List<NamedValueDecl> namedValues,
        List<LoggerDecl> loggers) {

    public PolicySetManifest {
        fragments = fragments == null ? List.of() : List.copyOf(fragments);
        policies = policies == null ? List.of() : List.copyOf(policies);
        namedValues = namedValues == null ? List.of() : List.copyOf(namedValues);
        loggers = loggers == null ? List.of() : List.copyOf(loggers);
    }

    /**
     * A policy fragment. {@code section} is where it must be included; {@code alsoIn} lists further sections
     * (the usage log runs in outbound and on-error).
     */
    public record FragmentDecl(String id, String file, String section, List<String> alsoIn, String description) {
        public FragmentDecl {
            alsoIn = alsoIn == null ? List.of() : List.copyOf(alsoIn);
        }

        public List<String> sections() {
            return java.util.stream.Stream.concat(java.util.stream.Stream.of(section), alsoIn.stream()).toList();
        }
    }

    /** A full policy document, at a scope such as {@code api} or {@code product}. */
    public record PolicyDecl(String file, String scope, String description) {
    }

    /** A named value the set reads as {@code {{name}}}; secrets go to Key Vault-backed named values. */
    public record NamedValueDecl(String name, String meaning, String defaultValue, boolean secret) {
    }

    /** An APIM logger the set writes to. */
    public record LoggerDecl(String id, String type, String meaning) {
    }

    public Optional<FragmentDecl> fragment(String id) {
        return fragments.stream().filter(f -> f.id().equals(id)).findFirst();
    }

    public Optional<NamedValueDecl> namedValue(String name) {
        return namedValues.stream().filter(v -> v.name().equals(name)).findFirst();
    }
}
