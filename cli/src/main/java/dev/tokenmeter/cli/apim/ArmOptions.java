package dev.tokenmeter.cli.apim;

import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.envfile.EnvOption;
import dev.tokenmeter.cli.envfile.EnvironmentFile;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/** Which API Management service to talk to, and how; flags win over environment variables. */
public final class ArmOptions {

    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--subscription", description = "Azure subscription id (env AZURE_SUBSCRIPTION_ID).")
    String subscription;

    @Option(names = "--resource-group", description = "Resource group of the API Management service (env TOKENMETER_RESOURCE_GROUP).")
    String resourceGroup;

    @Option(names = "--service", description = "API Management service name (env TOKENMETER_APIM_SERVICE).")
    String service;

    @Option(names = "--arm-endpoint", description = "Azure Resource Manager endpoint (env AZURE_RESOURCE_MANAGER_ENDPOINT; default ${DEFAULT-VALUE}).",
            defaultValue = ArmClient.DEFAULT_ENDPOINT)
    String endpoint;

    @Option(names = "--arm-audience", paramLabel = "URI", description = "Token audience for ARM (env AZURE_RESOURCE_MANAGER_AUDIENCE; default: the endpoint, right for the public, China and US Government clouds).")
    String audience;

    @Mixin
    EnvOption environment;

    @Option(names = "--arm-retries", hidden = true, defaultValue = "4", description = "Retries of throttled (429) and failed (5xx) requests.")
    int retries;

    @Option(names = "--arm-retry-delay", hidden = true, defaultValue = "PT0.8S", description = "Base delay of the exponential back-off when Azure gives no Retry-After.")
    Duration retryDelay;

    @Option(names = "--arm-poll-interval", hidden = true, defaultValue = "PT2S", description = "Interval between polls of a long-running operation.")
    Duration pollInterval;

    /** Where the policy set goes and with which settings, when {@code --env} names an environment file. */
    public Optional<EnvironmentFile> environmentFile(Environment env) {
        return environment.load(env);
    }

    public ApimService connect(Environment env) {
        Optional<EnvironmentFile> file = environment.load(env);
        Map<String, String> origins = new HashMap<>();
        String sub = pick("subscription", subscription, file.map(EnvironmentFile::subscription), file, env,
                "AZURE_SUBSCRIPTION_ID", origins);
        String rg = pick("resource-group", resourceGroup, file.map(EnvironmentFile::resourceGroup), file, env,
                "TOKENMETER_RESOURCE_GROUP", origins);
        String svc = pick("service", service, file.map(EnvironmentFile::service), file, env,
                "TOKENMETER_APIM_SERVICE", origins);
        origins.put("scope", "--scope");
        file.filter(f -> !f.scopes().isEmpty()).ifPresent(f -> origins.put("scope", f.origin("scopes")));
        boolean flag = spec.commandLine().getParseResult().hasMatchedOption("--arm-endpoint");
        String url = flag ? endpoint : file.map(EnvironmentFile::armEndpoint)
                .or(() -> env.variable("AZURE_RESOURCE_MANAGER_ENDPOINT")).orElse(endpoint);
        URI uri = endpointUri(url, flag ? "--arm-endpoint" : file.map(EnvironmentFile::armEndpoint).isPresent()
                ? file.get().origin("armEndpoint") : "AZURE_RESOURCE_MANAGER_ENDPOINT");
        String scope = Optional.ofNullable(audience).or(() -> file.map(EnvironmentFile::armAudience))
                .or(() -> env.variable("AZURE_RESOURCE_MANAGER_AUDIENCE")).map(ArmOptions::asScope)
                .orElseGet(() -> audienceOf(uri));
        ArmClient arm = new ArmClient(uri, scope, env.credential().get(), retries, retryDelay, pollInterval, env.err());
        return new ApimService(arm, new ApimService.Target(sub, rg, svc, Map.copyOf(origins)));
    }

    /**
     * The token audience of an ARM endpoint is the endpoint itself in the public, China and US Government clouds
     * (management.azure.com, management.chinacloudapi.cn, management.usgovcloudapi.net); elsewhere --arm-audience.
     */
    static String audienceOf(URI endpoint) {
        return asScope(endpoint.getScheme() + "://" + endpoint.getRawAuthority());
    }

    private static String asScope(String audience) {
        String a = audience.strip();
        return a.endsWith("/.default") ? a : a.replaceAll("/+$", "") + "/.default";
    }

    private URI endpointUri(String url, String origin) {
        URI uri;
        try {
            uri = new URI(url.strip());
        } catch (URISyntaxException e) {
            uri = null;
        }
        if (uri == null || uri.getHost() == null || !("https".equals(uri.getScheme()) || "http".equals(uri.getScheme()))) {
            throw new ParameterException(spec.commandLine(), "Invalid ARM endpoint '" + url + "' (from " + origin
                    + "): give an absolute URL such as " + ArmClient.DEFAULT_ENDPOINT);
        }
        return uri;
    }

    private String pick(String part, String flag, Optional<String> fromFile, Optional<EnvironmentFile> file,
                        Environment env, String variable, Map<String, String> origins) {
        if (flag != null && !flag.isBlank()) {
            origins.put(part, "--" + part);
            return flag;
        }
        if (fromFile.filter(v -> !v.isBlank()).isPresent()) {
            origins.put(part, file.get().origin(part.equals("resource-group") ? "resourceGroup" : part));
            return fromFile.get();
        }
        origins.put(part, "--" + part + " (here environment variable " + variable + ")");
        return env.variable(variable).orElseThrow(() -> new ParameterException(spec.commandLine(),
                "Missing --" + part + " (or environment variable " + variable + ", or " + part
                        + " in the --env file)"));
    }
}
