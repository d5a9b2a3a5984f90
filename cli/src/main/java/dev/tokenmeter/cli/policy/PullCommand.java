package dev.tokenmeter.cli.policy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.ExitCode;
import dev.tokenmeter.cli.apim.ApimResource;
import dev.tokenmeter.cli.apim.ApimService;
import dev.tokenmeter.cli.apim.ArmOptions;
import dev.tokenmeter.cli.apim.PolicyScope;
import dev.tokenmeter.cli.apim.ResourceKey;
import dev.tokenmeter.cli.envfile.EnvironmentFile;
import dev.tokenmeter.policies.manifest.ManifestLoader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

@Command(name = "pull", mixinStandardHelpOptions = true,
        description = {"Write what a service runs into a folder that 'policy validate' and 'policy diff' accept: the fragments, the policy of each --scope, the named values and the logger the set uses, and an environment file for them.",
                "Secrets are never written: a Key Vault named value as its reference, a plain secret as a variable to export (its value is not read).",
                "Then: 'tokenmeter policy validate DIR' and 'tokenmeter policy diff --dir DIR --env DIR/environment.yaml'."})
final class PullCommand implements Callable<Integer> {

    private static final Pattern INCLUDE = Pattern.compile("<include-fragment\\s+fragment-id\\s*=\\s*[\"']([^\"']+)[\"']");
    private static final Pattern NAMED_VALUE = Pattern.compile("\\{\\{([A-Za-z0-9._-]+)}}");
    private static final Pattern LOGGER = Pattern.compile("logger-id\\s*=\\s*[\"']([^\"']+)[\"']");
    /** Deploy writes each fragment's description as 'NAME VERSION: meaning'. */
    private static final Pattern STAMP = Pattern.compile("^([A-Za-z0-9-]+) ([0-9]+\\.[0-9]+\\.[0-9]+[^:]*):");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER));

    @Mixin
    ArmOptions arm;
    @Parameters(index = "0", paramLabel = "DIR", description = "Folder to write the set into (created; refused when it already holds a set, unless --force).")
    Path dir;
    @Option(names = "--scope", paramLabel = "SCOPE", description = "Scope whose policy to pull: global, product:ID, api:ID or operation:API_ID/OPERATION_ID. Repeatable (default: the --env file's scopes).")
    List<String> scopes = new ArrayList<>();
    @Option(names = "--name", defaultValue = "tokenmeter", description = "Name of the policy set: fragments whose description starts with it are pulled too (default ${DEFAULT-VALUE}).")
    String setName;
    @Option(names = "--force", description = "Overwrite a set already in DIR.")
    boolean force;

    private final Environment env;

    PullCommand(Environment env) {
        this.env = env;
    }

    @Override
    public Integer call() throws IOException {
        Optional<EnvironmentFile> file = arm.environmentFile(env);
        List<PolicyScope> parsed = new ArrayList<>();
        for (String s : !scopes.isEmpty() ? scopes : file.map(EnvironmentFile::scopes).orElse(List.of())) {
            try {
                parsed.add(PolicyScope.parse(s));
            } catch (IllegalArgumentException e) {
                throw new CliFailure("--scope: " + e.getMessage());
            }
        }
        if (Files.exists(dir.resolve(ManifestLoader.FILE_NAME)) && !force) {
            throw new CliFailure(dir + " already holds a policy set (" + ManifestLoader.FILE_NAME + "): pull into another folder, or pass --force to overwrite it");
        }
        ApimService service = arm.connect(env);
        service.requireTargets(parsed);

        Map<PolicyScope, String> policies = new LinkedHashMap<>();
        for (PolicyScope scope : parsed) {
            service.read(new ResourceKey(ResourceKey.Kind.POLICY, scope.toString())).ifPresentOrElse(
                    d -> policies.put(scope, ((ApimResource.Policy) d.resource()).value()),
                    () -> env.err().println("note: " + scope + " has no policy on " + service.id() + "; nothing pulled for it"));
        }
        // the fragments the policies include (and those include), and every fragment stamped with the set's name
        Map<String, ApimResource.Fragment> fragments = new TreeMap<>();
        Deque<String> wanted = new ArrayDeque<>();
        policies.values().forEach(p -> wanted.addAll(matches(INCLUDE, p)));
        List<String> allFragments = service.names(ResourceKey.Kind.FRAGMENT);
        for (String id : allFragments) {
            if (id.startsWith(setName + "-")) {
                wanted.add(id);
            }
        }
        while (!wanted.isEmpty()) {
            String id = wanted.poll();
            if (fragments.containsKey(id)) {
                continue;
            }
            Optional<ApimService.Deployed> f = service.read(new ResourceKey(ResourceKey.Kind.FRAGMENT, id));
            if (f.isEmpty()) {
                throw new CliFailure("fragment " + id + " is included on " + service.id() + " but does not exist there; fix the policy that includes it first");
            }
            ApimResource.Fragment fragment = (ApimResource.Fragment) f.get().resource();
            fragments.put(id, fragment);
            wanted.addAll(matches(INCLUDE, fragment.value()));
        }
        if (fragments.isEmpty() && policies.isEmpty()) {
            throw new CliFailure("nothing of policy set " + setName + " on " + service.id() + ": no fragment named " + setName
                    + "-... and no --scope with a policy; name the scopes (--scope) or the set (--name)");
        }
        String version = version(service, fragments);

        Set<String> referencedValues = new TreeSet<>();
        Set<String> loggerIds = new TreeSet<>();
        fragments.values().forEach(f -> {
            referencedValues.addAll(matches(NAMED_VALUE, f.value()));
            loggerIds.addAll(matches(LOGGER, f.value()));
        });
        policies.values().forEach(p -> {
            referencedValues.addAll(matches(NAMED_VALUE, p));
            loggerIds.addAll(matches(LOGGER, p));
        });
        Map<String, ApimResource.NamedValue> values = new TreeMap<>();
        for (String name : service.names(ResourceKey.Kind.NAMED_VALUE)) {
            if (name.equals(PolicySetOptions.VERSION_NAMED_VALUE)) {
                continue; // deploy writes it from the manifest's version
            }
            boolean ours = referencedValues.contains(name);
            Optional<ApimService.Deployed> d = service.read(new ResourceKey(ResourceKey.Kind.NAMED_VALUE, name));
            if (d.isPresent()) {
                ApimResource.NamedValue nv = (ApimResource.NamedValue) d.get().resource();
                if (ours || nv.tags().contains(setName)) {
                    values.put(name, nv);
                }
            }
        }
        Map<String, ApimResource.Logger> loggers = new TreeMap<>();
        for (String id : loggerIds) {
            service.read(new ResourceKey(ResourceKey.Kind.LOGGER, id)).ifPresent(d -> loggers.put(id, (ApimResource.Logger) d.resource()));
        }

        write(service, parsed, policies, fragments, values, loggers, version);
        long secrets = values.values().stream().filter(ApimResource.NamedValue::secret).count();
        List<String> toExport = values.values().stream().filter(v -> v.secret() && v.keyVault() == null)
                .map(v -> variableFor(v.id())).toList();
        env.out().println("Pulled policy set " + setName + " " + version + " from " + service.id() + " into " + dir + ": "
                + fragments.size() + " fragments, " + policies.size() + (policies.size() == 1 ? " policy, " : " policies, ")
                + values.size() + " named values (" + secrets + " secret, as references), " + loggers.size()
                + (loggers.size() == 1 ? " logger." : " loggers."));
        if (!toExport.isEmpty()) {
            env.out().println("Plain secrets are not pulled: export " + String.join(", ", toExport)
                    + " with their values before 'policy diff' or 'policy deploy' with this environment file.");
        }
        if (policies.values().stream().distinct().count() > 1) {
            env.out().println("The scopes run different policy documents: each is in " + dir.resolve("apis")
                    + ", and diff and deploy use the first (" + parsed.get(0) + ").");
        }
        env.out().println("Next: tokenmeter policy validate " + dir + "; tokenmeter policy diff --dir " + dir + " --env "
                + dir.resolve("environment.yaml"));
        env.out().flush();
        return ExitCode.OK;
    }

    /** The version named value, else the version stamped in the fragments' descriptions. */
    private String version(ApimService service, Map<String, ApimResource.Fragment> fragments) {
        Optional<String> fromValue = service.read(new ResourceKey(ResourceKey.Kind.NAMED_VALUE, PolicySetOptions.VERSION_NAMED_VALUE))
                .map(d -> ((ApimResource.NamedValue) d.resource()).value());
        if (fromValue.isPresent()) {
            return fromValue.get();
        }
        for (ApimResource.Fragment f : fragments.values()) {
            Matcher m = STAMP.matcher(f.description());
            if (m.find()) {
                return m.group(2);
            }
        }
        return "0.0.0";
    }

    private void write(ApimService service, List<PolicyScope> scopes, Map<PolicyScope, String> policies,
                       Map<String, ApimResource.Fragment> fragments, Map<String, ApimResource.NamedValue> values,
                       Map<String, ApimResource.Logger> loggers, String version) throws IOException {
        Files.createDirectories(dir.resolve("fragments"));
        ObjectNode manifest = JSON.createObjectNode();
        manifest.put("name", setName);
        manifest.put("version", version);
        manifest.put("description", "Pulled from " + service.id());
        manifest.put("format", ApimResource.RAW_XML);
        manifest.put("minimumApimApiVersion", dev.tokenmeter.cli.apim.ArmClient.API_VERSION);
        Map<String, List<String>> sections = sectionsOf(policies.values());
        ArrayNode fragmentDecls = manifest.putArray("fragments");
        for (ApimResource.Fragment f : fragments.values()) {
            Files.writeString(dir.resolve("fragments/" + f.id() + ".xml"), f.value());
            List<String> in = sections.getOrDefault(f.id(), List.of("inbound"));
            ObjectNode decl = fragmentDecls.addObject().put("id", f.id()).put("file", "fragments/" + f.id() + ".xml")
                    .put("section", in.get(0));
            if (in.size() > 1) {
                in.subList(1, in.size()).forEach(decl.putArray("alsoIn")::add);
            }
            decl.put("description", f.description());
        }
        ArrayNode policyDecls = manifest.putArray("policies");
        if (!policies.isEmpty()) {
            Files.createDirectories(dir.resolve("apis"));
        }
        for (Map.Entry<PolicyScope, String> p : policies.entrySet()) {
            String name = "apis/" + p.getKey().toString().replaceAll("[^A-Za-z0-9._-]+", "-") + ".xml";
            Files.writeString(dir.resolve(name), p.getValue());
            String kind = p.getKey() instanceof PolicyScope.Global ? "global" : p.getKey().toString().substring(0, p.getKey().toString().indexOf(':'));
            policyDecls.addObject().put("file", name).put("scope", kind).put("description", "The policy of " + p.getKey() + " on " + service.id());
        }
        ArrayNode valueDecls = manifest.putArray("namedValues");
        Map<String, Object> envValues = new TreeMap<>();
        String keyVaultIdentity = null;
        for (ApimResource.NamedValue v : values.values()) {
            ObjectNode decl = valueDecls.addObject().put("name", v.id()).put("meaning", "as pulled from the service");
            if (v.keyVault() != null) {
                envValues.put(v.id(), Map.of("keyVault", v.keyVault().secretIdentifier()));
                keyVaultIdentity = keyVaultIdentity != null ? keyVaultIdentity : v.keyVault().identityClientId();
                decl.put("default", "replace-with-key-vault-reference");
            } else if (v.secret()) {
                envValues.put(v.id(), Map.of("env", variableFor(v.id())));
                decl.put("default", "replace-with-secret");
            } else {
                decl.put("default", v.value());
            }
            decl.put("secret", v.secret());
        }
        ArrayNode loggerDecls = manifest.putArray("loggers");
        loggers.values().forEach(l -> loggerDecls.addObject().put("id", l.id()).put("type", l.loggerType()).put("meaning", l.description()));
        Files.writeString(dir.resolve(ManifestLoader.FILE_NAME), JSON.writeValueAsString(manifest) + "\n");

        Map<String, Object> environment = new LinkedHashMap<>();
        environment.put("subscription", service.target().subscription());
        environment.put("resourceGroup", service.target().resourceGroup());
        environment.put("service", service.target().service());
        if (!scopes.isEmpty()) {
            environment.put("scopes", scopes.stream().filter(policies::containsKey).map(Object::toString).toList());
        }
        if (loggers.size() == 1) {
            Map<String, String> c = loggers.values().iterator().next().credentials();
            Map<String, Object> logger = new LinkedHashMap<>();
            if (c.containsKey("endpointAddress")) {
                logger.put("eventHubNamespace", c.get("endpointAddress"));
            }
            logger.put("eventHub", c.get("name"));
            if (c.containsKey("identityClientId") && !c.get("identityClientId").equals("SystemAssigned")) {
                logger.put("identityClientId", c.get("identityClientId"));
            }
            if (c.containsKey("connectionString")) {
                logger.put("connectionStringEnv", "TOKENMETER_EVENTHUB_CONNECTION_STRING");
            }
            environment.put("logger", logger);
        }
        if (keyVaultIdentity != null) {
            environment.put("keyVaultIdentity", keyVaultIdentity);
        }
        if (!envValues.isEmpty()) {
            environment.put("namedValues", envValues);
        }
        Files.writeString(dir.resolve("environment.yaml"), "# pulled from " + service.id() + " by 'tokenmeter policy pull';"
                + " secrets only as references or variables\n" + YAML.writeValueAsString(environment));
    }

    /** Sections each fragment is included in directly, in section order. */
    private static Map<String, List<String>> sectionsOf(java.util.Collection<String> policies) {
        Map<String, List<String>> in = new LinkedHashMap<>();
        for (String policy : policies) {
            for (String section : ApiPolicyMerge.SECTIONS) {
                Matcher m = Pattern.compile("<" + section + "(\\s[^>]*)?>(.*?)</" + section + ">", Pattern.DOTALL).matcher(policy);
                if (m.find()) {
                    for (String id : matches(INCLUDE, m.group(2))) {
                        List<String> list = in.computeIfAbsent(id, k -> new ArrayList<>());
                        if (!list.contains(section)) {
                            list.add(section);
                        }
                    }
                }
            }
        }
        return in;
    }

    /** The variable a plain secret's value is read from: its name in upper case with underscores. */
    static String variableFor(String namedValue) {
        return namedValue.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]+", "_");
    }

    private static List<String> matches(Pattern p, String text) {
        List<String> found = new ArrayList<>();
        Matcher m = p.matcher(text);
        while (m.find()) {
            found.add(m.group(1));
        }
        return found;
    }
}
