package dev.tokenmeter.policies.manifest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads {@code policy-set.json} into a {@link PolicySetManifest}, naming the file in every error. */
public final class ManifestLoader {

    public static final String FILE_NAME = "policy-set.json";

    private static final ObjectMapper MAPPER = JsonMapper.builder().build();

    private ManifestLoader() {
    }

    /** @throws ManifestException when the file is missing, not JSON, or lacks a required field */
    public static PolicySetManifest load(Path policySetDir) {
        Path file = policySetDir.resolve(FILE_NAME);
        JsonNode root;
        try {
            root = MAPPER.readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new ManifestException(file + ": cannot read the manifest: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new ManifestException(file + ": the manifest must be a JSON object");
        }
        List<String> missing = new ArrayList<>();
        for (String field : List.of("name", "version", "format", "minimumApimApiVersion", "fragments", "namedValues", "loggers")) {
            if (!root.hasNonNull(field)) {
                missing.add(field);
            }
        }
        if (!missing.isEmpty()) {
            throw new ManifestException(file + ": missing " + String.join(", ", missing));
        }
        try {
            var fragments = new ArrayList<PolicySetManifest.FragmentDecl>();
            for (JsonNode f : root.get("fragments")) {
                fragments.add(new PolicySetManifest.FragmentDecl(text(f, "id"), text(f, "file"), text(f, "section"),
                        f.has("alsoIn") ? MAPPER.convertValue(f.get("alsoIn"), MAPPER.getTypeFactory()
                                .constructCollectionType(List.class, String.class)) : List.of(),
                        text(f, "description")));
            }
            var policies = new ArrayList<PolicySetManifest.PolicyDecl>();
            for (JsonNode p : root.path("policies")) {
                policies.add(new PolicySetManifest.PolicyDecl(text(p, "file"), text(p, "scope"), text(p, "description")));
            }
            var values = new ArrayList<PolicySetManifest.NamedValueDecl>();
            for (JsonNode v : root.get("namedValues")) {
                values.add(new PolicySetManifest.NamedValueDecl(text(v, "name"), text(v, "meaning"), text(v, "default"),
                        v.path("secret").asBoolean(false)));
            }
            var loggers = new ArrayList<PolicySetManifest.LoggerDecl>();
            for (JsonNode l : root.get("loggers")) {
                loggers.add(new PolicySetManifest.LoggerDecl(text(l, "id"), text(l, "type"), text(l, "meaning")));
            }
            return new PolicySetManifest(text(root, "name"), text(root, "version"), text(root, "description"),
                    text(root, "format"), text(root, "minimumApimApiVersion"), fragments, policies, values, loggers);
        } catch (IllegalArgumentException e) {
            throw new ManifestException(file + ": " + e.getMessage());
        }
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }

    /** The manifest cannot be used; the message names the file and the problem. */
    public static final class ManifestException extends RuntimeException {
        public ManifestException(String message) {
            super(message);
        }
    }
}
