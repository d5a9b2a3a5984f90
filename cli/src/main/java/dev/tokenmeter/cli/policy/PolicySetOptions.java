package dev.tokenmeter.cli.policy;

import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.apim.ApimResource;
import dev.tokenmeter.cli.apim.PolicyScope;
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

/** The local policy set and how it is to be deployed: scope, named value settings, Event Hub logger. */
public final class PolicySetOptions {

    /** The named value through which {@code policy status} tells which version of the set runs. */
    static final String VERSION_NAMED_VALUE = "tokenmeter-policy-set-version";

    @Option(names = "--dir", description = "Policy set directory holding policy-set.json (env TOKENMETER_POLICY_DIR; default: policies).")
    Path dir;

    @Option(names = "--scope", paramLabel = "SCOPE", description = "Where the set's policy document goes: global, product:ID, api:ID or operation:API_ID/OPERATION_ID. Repeatable. Without it only fragments, named values and the logger are managed.")
    List<String> scopes = new ArrayList<>();

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

    /** What the service should hold after a deployment of the local set. */
    DesiredSet desired(Environment env) {
        PolicySetManifest m = manifest(env);
        Path d = directory(env);
        List<ApimResource> resources = new ArrayList<>();
        for (String name : values.keySet()) {
            if (m.namedValue(name).isEmpty()) {
                throw new CliFailure("--set " + name + ": the policy set has no named value " + name
                        + "; the manifest lists " + m.namedValues().stream().map(PolicySetManifest.NamedValueDecl::name).toList());
            }
        }
        for (PolicySetManifest.NamedValueDecl v : m.namedValues()) {
            String secretUri = keyVaultSecrets.get(v.name());
            if (secretUri != null) {
                resources.add(new ApimResource.NamedValue(v.name(), null, true,
                        new ApimResource.KeyVaultRef(secretUri, keyVaultIdentity), List.of("tokenmeter")));
            } else {
                String value = values.getOrDefault(v.name(), v.defaultValue());
                if (value == null) {
                    throw new CliFailure("named value " + v.name() + " has no default: pass --set " + v.name()
                            + "=VALUE or --key-vault-secret " + v.name() + "=SECRET_URI");
                }
                resources.add(new ApimResource.NamedValue(v.name(), value, v.secret(), null, List.of("tokenmeter")));
            }
        }
        resources.add(new ApimResource.NamedValue(VERSION_NAMED_VALUE, m.version(), false, null, List.of("tokenmeter")));
        List<String> unmanagedLoggers = new ArrayList<>();
        for (PolicySetManifest.LoggerDecl l : m.loggers()) {
            logger(l, env).ifPresentOrElse(resources::add, () -> unmanagedLoggers.add(l.id()));
        }
        for (PolicySetManifest.FragmentDecl f : m.fragments()) {
            resources.add(new ApimResource.Fragment(f.id(), f.description(), read(d.resolve(f.file()))));
        }
        if (!scopes.isEmpty() && m.policies().isEmpty()) {
            throw new CliFailure("--scope " + scopes.get(0) + ": the policy set has no policy document to deploy");
        }
        for (PolicyScope s : parseScopes()) {
            resources.add(new ApimResource.Policy(s, read(d.resolve(m.policies().get(0).file()))));
        }
        return new DesiredSet(m.name(), m.version(), resources, unmanagedLoggers);
    }

    List<PolicyScope> parseScopes() {
        List<PolicyScope> parsed = new ArrayList<>();
        for (String scope : scopes) {
            try {
                parsed.add(PolicyScope.parse(scope));
            } catch (IllegalArgumentException e) {
                throw new CliFailure("--scope: " + e.getMessage());
            }
        }
        return parsed;
    }

    private java.util.Optional<ApimResource> logger(PolicySetManifest.LoggerDecl decl, Environment env) {
        if (eventHub == null && eventHubNamespace == null && connectionStringVariable == null) {
            return java.util.Optional.empty();
        }
        if (eventHub == null) {
            throw new CliFailure("logger " + decl.id() + ": pass --eventhub with the Event Hub name");
        }
        Map<String, String> credentials = new LinkedHashMap<>();
        credentials.put("name", eventHub);
        if (connectionStringVariable != null) {
            credentials.put("connectionString", env.variable(connectionStringVariable).orElseThrow(() ->
                    new CliFailure("logger " + decl.id() + ": environment variable " + connectionStringVariable
                            + " is empty; export the Event Hubs connection string in it")));
        } else if (eventHubNamespace != null) {
            credentials.put("endpointAddress", eventHubNamespace);
            credentials.put("identityClientId", loggerIdentity == null ? "SystemAssigned" : loggerIdentity);
        } else {
            throw new CliFailure("logger " + decl.id() + ": pass --eventhub-namespace (managed identity) or "
                    + "--eventhub-connection-string-env");
        }
        return java.util.Optional.of(new ApimResource.Logger(decl.id(), decl.type(), decl.meaning(),
                Map.copyOf(credentials)));
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new CliFailure("cannot read " + file + ": " + e.getMessage() + "; run 'tokenmeter policy validate'");
        }
    }
}
