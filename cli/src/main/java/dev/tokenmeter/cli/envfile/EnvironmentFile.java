package dev.tokenmeter.cli.envfile;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.tokenmeter.cli.CliFailure;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * One deployment target of the policy set, kept in the policy repository ({@code environments/NAME.yaml}) so that
 * diff, status and deploy of one environment always use the same values. Secrets are never in it: a named value is
 * a literal, a Key Vault secret ({@code keyVault: URI}) or the name of an environment variable ({@code env: VAR});
 * the OpenMeter token and an Event Hubs connection string are named by their variable only.
 */
public record EnvironmentFile(Path file, String subscription, String resourceGroup, String service,
                              String armEndpoint, String armAudience, List<String> scopes, Logger logger,
                              String keyVaultIdentity, Map<String, Setting> namedValues, OpenMeter openmeter,
                              String stateDir, String snapshots, Monitoring monitoring) {

    /** The usage logger: managed identity (namespace, identity) or a connection string in a variable. */
    public record Logger(String eventHubNamespace, String eventHub, String identityClientId,
                         String connectionStringEnv) {
    }

    /** Where OpenMeter is; the token only as the name of the variable that holds it. */
    public record OpenMeter(String url, String tokenEnv) {
    }

    /**
     * What {@code reconcile} reads Azure's own counts from: the Azure OpenAI account (resource id), the Log Analytics
     * workspace (its workspace id, a GUID) and, for sovereign clouds, the Log Analytics endpoint.
     */
    public record Monitoring(String openaiAccount, String workspaceId, String logsEndpoint) {
    }

    /** A named value's setting: exactly one of value, keyVault (a secret URI) and env (a variable name). */
    public record Setting(String value, String keyVault, String env) {
        public boolean literal() {
            return value != null;
        }
    }

    /** The file's shape, bound by Jackson so an unknown or misspelled key is an error with its line. */
    private record Raw(String subscription, String resourceGroup, String service, String armEndpoint,
                       String armAudience, List<String> scopes, Logger logger, String keyVaultIdentity,
                       Map<String, JsonNode> namedValues, OpenMeter openmeter, String stateDir,
                       String snapshots, Monitoring monitoring) {
    }

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    /** NAME is looked up as DIR/NAME.yaml (DIR: TOKENMETER_ENVIRONMENTS_DIR or ./environments); a path is taken as is. */
    public static Path locate(String name, Optional<String> directory) {
        if (name.endsWith(".yaml") || name.endsWith(".yml") || name.contains("/")) {
            return Path.of(name);
        }
        return Path.of(directory.orElse("environments")).resolve(name + ".yaml");
    }

    public static EnvironmentFile load(Path file) {
        Raw raw;
        String text = null;
        try {
            text = Files.readString(file);
            raw = YAML.readValue(text, Raw.class);
        } catch (NoSuchFileException e) {
            throw new CliFailure("--env: no environment file " + file.toAbsolutePath()
                    + " (environments are environments/NAME.yaml; TOKENMETER_ENVIRONMENTS_DIR names another folder)");
        } catch (UnrecognizedPropertyException e) {
            throw new CliFailure(file + ":" + lineOf(text, e.getPropertyName(), e.getLocation().getLineNr()) + ": unknown key '" + e.getPropertyName()
                    + "'" + (e.getPropertyName().toLowerCase().contains("token") ? " (a token is never kept in the "
                    + "file: name its variable with tokenEnv)" : "") + "; known keys: "
                    + new TreeSet<>(e.getKnownPropertyIds().stream().map(Object::toString).toList()));
        } catch (JsonProcessingException e) {
            throw new CliFailure(file + ":" + (e.getLocation() == null ? 0 : e.getLocation().getLineNr())
                    + ": not a valid environment file: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new CliFailure("--env: cannot read " + file + ": " + e.getMessage());
        }
        if (raw == null) {
            throw new CliFailure(file + " is empty: give at least subscription, resourceGroup and service");
        }
        Map<String, Setting> settings = new LinkedHashMap<>();
        if (raw.namedValues() != null) {
            raw.namedValues().forEach((name, node) -> settings.put(name, setting(file, name, node)));
        }
        return new EnvironmentFile(file, raw.subscription(), raw.resourceGroup(), raw.service(), raw.armEndpoint(),
                raw.armAudience(), raw.scopes() == null ? List.of() : List.copyOf(raw.scopes()), raw.logger(),
                raw.keyVaultIdentity(), Map.copyOf(settings), raw.openmeter(), raw.stateDir(),
                raw.snapshots(), raw.monitoring());
    }

    /**
     * Records are bound through their constructor, so Jackson reports an unknown key where the buffered object
     * ends; the key's own line is what a reader needs.
     */
    private static int lineOf(String text, String key, int fallback) {
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].matches("\\s*-?\\s*\"?" + java.util.regex.Pattern.quote(key) + "\"?\\s*:.*")) {
                return i + 1;
            }
        }
        return fallback;
    }

    private static Setting setting(Path file, String name, JsonNode node) {
        String where = file + ": namedValues." + name;
        if (node == null || node.isNull()) {
            throw new CliFailure(where + " has no value: give a value, {keyVault: SECRET_URI} or {env: VARIABLE}");
        }
        if (node.isValueNode()) {
            return new Setting(node.asText(), null, null);
        }
        if (node.isObject() && node.size() == 1 && node.hasNonNull("keyVault")) {
            return new Setting(null, node.get("keyVault").asText(), null);
        }
        if (node.isObject() && node.size() == 1 && node.hasNonNull("env")) {
            return new Setting(null, null, node.get("env").asText());
        }
        throw new CliFailure(where + " must be a value, {keyVault: SECRET_URI} or {env: VARIABLE}");
    }

    /** What a message says a value came from. */
    public String origin(String key) {
        return file + " (" + key + ")";
    }
}
