package dev.tokenmeter.cli.policy;

import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.apim.ApimResource;
import dev.tokenmeter.cli.apim.PolicyScope;
import dev.tokenmeter.cli.envfile.EnvironmentFile;
import dev.tokenmeter.policies.manifest.ManifestLoader;
import dev.tokenmeter.policies.manifest.PolicySetManifest;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The local policy set and how it is to be deployed: scope, named value settings, Event Hub logger. */
public final class PolicySetOptions {

    /** The named value through which {@code policy status} tells which version of the set runs. */
    static final String VERSION_NAMED_VALUE = "tokenmeter-policy-set-version";

    @Option(names = "--dir", description = "Policy set directory holding policy-set.json (env TOKENMETER_POLICY_DIR; default: policies).")
    Path dir;

    @Option(names = "--scope", paramLabel = "SCOPE", description = "Where the set's policy document goes: global, product:ID, api:ID or operation:API_ID/OPERATION_ID. Repeatable. Without it only fragments, named values and the logger are managed.")
    List<String> scopes = new ArrayList<>();

    @Option(names = "--policy", paramLabel = "FILE", description = "Deploy this complete policy document at --scope instead of adding the set's include-fragment lines to the policy the scope has (validated with the set first).")
    Path policyFile;

    @Option(names = "--set", paramLabel = "NAME=VALUE", description = "Value of a named value (default: the manifest's default). Repeatable.")
    Map<String, String> values = new LinkedHashMap<>();

    @Option(names = "--key-vault-secret", paramLabel = "NAME=SECRET_URI", description = "Make a named value a Key Vault reference. Repeatable.")
    Map<String, String> keyVaultSecrets = new LinkedHashMap<>();

    @Option(names = "--key-vault-identity", paramLabel = "CLIENT_ID", description = "Client id of the user-assigned identity APIM reads Key Vault with (default: system-assigned).")
    String keyVaultIdentity;

    @Option(names = "--eventhub-namespace", paramLabel = "HOST", description = "Event Hubs namespace host of the usage logger, e.g. contoso.servicebus.windows.net (managed identity).")
    String eventHubNamespace;

    @Option(names = "--eventhub", paramLabel = "NAME", description = "Event Hub the usage logger writes to.")
    String eventHub;

    @Option(names = "--logger-identity", paramLabel = "CLIENT_ID", description = "Client id of the user-assigned identity the logger sends with (default: system-assigned).")
    String loggerIdentity;

    @Option(names = "--eventhub-connection-string-env", paramLabel = "VAR", description = "Environment variable holding an Event Hubs connection string, instead of managed identity (the value is never printed).")
    String connectionStringVariable;

    Path directory(Environment env) {
        if (dir != null) {
            return dir;
        }
        return env.variable("TOKENMETER_POLICY_DIR").map(Path::of).orElse(Path.of("policies"));
    }

    PolicySetManifest manifest(Environment env) {
        Path d = directory(env);
        if (!Files.isRegularFile(d.resolve(ManifestLoader.FILE_NAME))) {
            throw new CliFailure("no " + ManifestLoader.FILE_NAME + " in " + d.toAbsolutePath()
                    + ": pass --dir with the policy set directory (or set TOKENMETER_POLICY_DIR)");
        }
        try {
            return ManifestLoader.load(d);
        } catch (ManifestLoader.ManifestException e) {
            throw new CliFailure(e.getMessage() + "; fix the manifest and run 'tokenmeter policy validate'");
        }
    }

    /**
     * Manifest defaults that only stand in for a value every deployment must give: the nil tenant id (every Entra
     * caller gets 401) and replace-with-... (the OpenMeter token: every entitlement check fails). The manifest has
     * no "required" flag, so the shape of the default says it.
     */
    static boolean placeholder(String defaultValue) {
        return defaultValue != null && (defaultValue.equals("00000000-0000-0000-0000-000000000000")
                || defaultValue.startsWith("replace-with-"));
    }

    /** What the service should hold after a deployment of the local set: flags, then the environment file, then defaults. */
    DesiredSet desired(Environment env, Optional<EnvironmentFile> file) {
        PolicySetManifest m = manifest(env);
        Path d = directory(env);
        List<ApimResource> resources = new ArrayList<>();
        List<String> known = m.namedValues().stream().map(PolicySetManifest.NamedValueDecl::name).toList();
        for (String name : values.keySet()) {
            if (m.namedValue(name).isEmpty()) {
                throw new CliFailure("--set " + name + ": the policy set has no named value " + name
                        + "; the manifest lists " + known);
            }
        }
        Map<String, EnvironmentFile.Setting> fromFile = file.map(EnvironmentFile::namedValues).orElse(Map.of());
        for (String name : fromFile.keySet()) {
            if (m.namedValue(name).isEmpty()) {
                throw new CliFailure(file.get().origin("namedValues." + name) + ": the policy set has no named value "
                        + name + "; the manifest lists " + known);
            }
        }
        String kvIdentity = keyVaultIdentity != null ? keyVaultIdentity
                : file.map(EnvironmentFile::keyVaultIdentity).orElse(null);
        List<String> placeholders = new ArrayList<>();
        for (PolicySetManifest.NamedValueDecl v : m.namedValues()) {
            String secretUri = keyVaultSecrets.get(v.name());
            EnvironmentFile.Setting setting = fromFile.get(v.name());
            if (secretUri == null && !values.containsKey(v.name()) && setting != null && setting.keyVault() != null) {
                secretUri = setting.keyVault();
            }
            if (secretUri != null) {
                resources.add(new ApimResource.NamedValue(v.name(), null, true,
                        new ApimResource.KeyVaultRef(secretUri, kvIdentity), List.of("tokenmeter")));
                continue;
            }
            String value = values.get(v.name());
            if (value == null && setting != null) {
                if (setting.literal() && v.secret()) {
                    throw new CliFailure(file.get().origin("namedValues." + v.name()) + ": " + v.name()
                            + " is a secret and its value must not be in the file: use {keyVault: SECRET_URI} or "
                            + "{env: VARIABLE}");
                }
                value = setting.literal() ? setting.value() : env.variable(setting.env()).orElseThrow(() ->
                        new CliFailure(file.get().origin("namedValues." + v.name()) + ": environment variable "
                                + setting.env() + " is not set; export the value of " + v.name() + " in it"));
            }
            if (value == null) {
                value = v.defaultValue();
                if (value == null) {
                    throw new CliFailure("named value " + v.name() + " has no default: pass --set " + v.name()
                            + "=VALUE or --key-vault-secret " + v.name() + "=SECRET_URI, or set it in the --env file");
                }
                if (placeholder(value)) {
                    placeholders.add(v.name());
                }
            }
            resources.add(new ApimResource.NamedValue(v.name(), value, v.secret(), null, List.of("tokenmeter")));
        }
        resources.add(new ApimResource.NamedValue(VERSION_NAMED_VALUE, m.version(), false, null, List.of("tokenmeter")));
        List<String> unmanagedLoggers = new ArrayList<>();
        EnvironmentFile.Logger fileLogger = file.map(EnvironmentFile::logger).orElse(null);
        for (PolicySetManifest.LoggerDecl l : m.loggers()) {
            logger(l, env, fileLogger).ifPresentOrElse(resources::add, () -> unmanagedLoggers.add(l.id()));
        }
        for (PolicySetManifest.FragmentDecl f : m.fragments()) {
            resources.add(new ApimResource.Fragment(f.id(), f.description(), read(d.resolve(f.file()))));
        }
        List<PolicyScope> parsedScopes = parseScopes(file);
        if (policyFile != null && parsedScopes.isEmpty()) {
            throw new CliFailure("--policy " + policyFile + ": name the scope it goes to with --scope (or scopes in the --env file)");
        }
        if (!parsedScopes.isEmpty() && m.policies().isEmpty() && policyFile == null) {
            throw new CliFailure("--scope " + parsedScopes.get(0) + ": the policy set has no policy document to deploy");
        }
        String document = policyFile != null ? read(policyFile) : parsedScopes.isEmpty() ? null
                : read(d.resolve(m.policies().get(0).file()));
        for (PolicyScope s : parsedScopes) {
            resources.add(new ApimResource.Policy(s, document));
        }
        return new DesiredSet(m.name(), m.version(), resources, unmanagedLoggers, placeholders,
                m.fragments().stream().map(PolicySetManifest.FragmentDecl::id).collect(java.util.stream.Collectors.toSet()),
                policyFile == null);
    }

    /** The scopes of --scope, or else of the environment file. */
    List<PolicyScope> parseScopes(Optional<EnvironmentFile> file) {
        List<String> chosen = !scopes.isEmpty() ? scopes : file.map(EnvironmentFile::scopes).orElse(List.of());
        String origin = !scopes.isEmpty() ? "--scope" : file.map(f -> f.origin("scopes")).orElse("--scope");
        List<PolicyScope> parsed = new ArrayList<>();
        for (String scope : chosen) {
            try {
                parsed.add(PolicyScope.parse(scope));
            } catch (IllegalArgumentException e) {
                throw new CliFailure(origin + ": " + e.getMessage());
            }
        }
        return parsed;
    }

    private Optional<ApimResource> logger(PolicySetManifest.LoggerDecl decl, Environment env,
                                          EnvironmentFile.Logger fromFile) {
        boolean flags = eventHub != null || eventHubNamespace != null || connectionStringVariable != null;
        String hub = flags ? eventHub : fromFile == null ? null : fromFile.eventHub();
        String namespace = flags ? eventHubNamespace : fromFile == null ? null : fromFile.eventHubNamespace();
        String identity = flags ? loggerIdentity : fromFile == null ? null : fromFile.identityClientId();
        String connectionVariable = flags ? connectionStringVariable : fromFile == null ? null : fromFile.connectionStringEnv();
        if (hub == null && namespace == null && connectionVariable == null) {
            return Optional.empty();
        }
        String where = flags ? "" : " (logger in the --env file)";
        if (hub == null) {
            throw new CliFailure("logger " + decl.id() + ": pass --eventhub with the Event Hub name" + where);
        }
        Map<String, String> credentials = new LinkedHashMap<>();
        credentials.put("name", hub);
        if (connectionVariable != null) {
            credentials.put("connectionString", env.variable(connectionVariable).orElseThrow(() ->
                    new CliFailure("logger " + decl.id() + ": environment variable " + connectionVariable
                            + " is empty; export the Event Hubs connection string in it")));
        } else if (namespace != null) {
            credentials.put("endpointAddress", namespace);
            credentials.put("identityClientId", identity == null ? "SystemAssigned" : identity);
        } else {
            throw new CliFailure("logger " + decl.id() + ": pass --eventhub-namespace (managed identity) or "
                    + "--eventhub-connection-string-env" + where);
        }
        return Optional.of(new ApimResource.Logger(decl.id(), decl.type(), decl.meaning(), Map.copyOf(credentials)));
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new CliFailure("cannot read " + file + ": " + e.getMessage() + "; run 'tokenmeter policy validate'");
        }
    }
}
