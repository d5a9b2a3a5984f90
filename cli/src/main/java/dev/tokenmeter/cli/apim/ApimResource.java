package dev.tokenmeter.cli.apim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The APIM resources the policy set consists of, as small typed records of our own (the typed APIM SDK served here
 * predates policy fragments). Each knows its ARM body and a review text that diffs compare: the same text for the
 * local and the deployed side, so a diff shows only what would really change.
 */
public sealed interface ApimResource {

    ResourceKey key();

    /** The PUT body. */
    ObjectNode toBody();

    /** What a reviewer compares; secrets appear only as a marker. */
    String reviewText();

    JsonNodeFactory JSON = JsonNodeFactory.instance;

    /** Policy XML is stored and read as rawxml: expressions stay plain C#, as in the repository's files. */
    String RAW_XML = "rawxml";

    record Fragment(String id, String description, String value) implements ApimResource {
        public ResourceKey key() {
            return new ResourceKey(ResourceKey.Kind.FRAGMENT, id);
        }

        public ObjectNode toBody() {
            ObjectNode body = JSON.objectNode();
            body.putObject("properties").put("format", RAW_XML).put("description", description).put("value", value);
            return body;
        }

        public String reviewText() {
            return "description: " + description + "\n" + normalizeXml(value);
        }
    }

    record Policy(PolicyScope scope, String value) implements ApimResource {
        public ResourceKey key() {
            return new ResourceKey(ResourceKey.Kind.POLICY, scope.toString());
        }

        public ObjectNode toBody() {
            ObjectNode body = JSON.objectNode();
            body.putObject("properties").put("format", RAW_XML).put("value", value);
            return body;
        }

        public String reviewText() {
            return normalizeXml(value);
        }
    }

    /** A Key Vault secret a named value refers to, read by APIM with the given identity (null: system-assigned). */
    record KeyVaultRef(String secretIdentifier, String identityClientId) {
    }

    /** Exactly one of value and keyVault is set; a secret's value is null when read back (APIM never shows it). */
    record NamedValue(String id, String value, boolean secret, KeyVaultRef keyVault, List<String> tags)
            implements ApimResource {
        public ResourceKey key() {
            return new ResourceKey(ResourceKey.Kind.NAMED_VALUE, id);
        }

        public ObjectNode toBody() {
            ObjectNode body = JSON.objectNode();
            ObjectNode p = body.putObject("properties");
            p.put("displayName", id);
            if (keyVault != null) {
                ObjectNode kv = p.putObject("keyVault").put("secretIdentifier", keyVault.secretIdentifier());
                if (keyVault.identityClientId() != null) {
                    kv.put("identityClientId", keyVault.identityClientId());
                }
            } else {
                p.put("value", value);
            }
            tags.forEach(p.putArray("tags")::add);
            p.put("secret", secret);
            return body;
        }

        public String reviewText() {
            if (keyVault != null) {
                return "key vault: " + keyVault.secretIdentifier()
                        + (keyVault.identityClientId() == null ? "" : " (identity " + keyVault.identityClientId() + ")");
            }
            return secret ? "secret: (value not shown or compared)" : "value: " + value;
        }
    }

    /** An Event Hub logger: managed identity (endpointAddress + identityClientId) or a connection string. */
    record Logger(String id, String loggerType, String description, Map<String, String> credentials)
            implements ApimResource {
        public ResourceKey key() {
            return new ResourceKey(ResourceKey.Kind.LOGGER, id);
        }

        public ObjectNode toBody() {
            ObjectNode body = JSON.objectNode();
            ObjectNode p = body.putObject("properties").put("loggerType", loggerType).put("description", description);
            ObjectNode c = p.putObject("credentials");
            credentials.forEach(c::put);
            return body;
        }

        public String reviewText() {
            StringBuilder s = new StringBuilder("type: " + loggerType + "\ndescription: " + description);
            new TreeMap<>(credentials).forEach((k, v) -> s.append("\ncredentials.").append(k).append(": ")
                    .append(k.equals("connectionString") ? "(secret, not compared)" : v));
            return s.toString();
        }
    }

    /** Reads a resource from its ARM representation. */
    static ApimResource fromArm(ResourceKey key, JsonNode body) {
        JsonNode p = body.path("properties");
        return switch (key.kind()) {
            case FRAGMENT -> new Fragment(key.name(), p.path("description").asText(""), p.path("value").asText(""));
            case POLICY -> new Policy(PolicyScope.parse(key.name()), p.path("value").asText(""));
            case NAMED_VALUE -> {
                JsonNode kv = p.path("keyVault");
                List<String> tags = new java.util.ArrayList<>();
                p.path("tags").forEach(t -> tags.add(t.asText()));
                yield new NamedValue(key.name(), p.hasNonNull("value") ? p.get("value").asText() : null,
                        p.path("secret").asBoolean(false),
                        kv.hasNonNull("secretIdentifier") ? new KeyVaultRef(kv.get("secretIdentifier").asText(),
                                kv.hasNonNull("identityClientId") ? kv.get("identityClientId").asText() : null) : null,
                        List.copyOf(tags));
            }
            case LOGGER -> {
                Map<String, String> credentials = new TreeMap<>();
                p.path("credentials").fields().forEachRemaining(e -> credentials.put(e.getKey(), e.getValue().asText()));
                yield new Logger(key.name(), p.path("loggerType").asText(""), p.path("description").asText(""),
                        Map.copyOf(credentials));
            }
        };
    }

    /**
     * Line endings, indentation and blank lines are not meaningful in a policy, and APIM may store them differently
     * from the file; comparing without them keeps diffs to real changes.
     */
    static String normalizeXml(String xml) {
        StringBuilder s = new StringBuilder();
        for (String line : xml.replace("\r", "").split("\n")) {
            String t = line.strip();
            if (!t.isEmpty()) {
                s.append(t).append('\n');
            }
        }
        return s.toString().stripTrailing();
    }
}
