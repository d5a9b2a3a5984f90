package dev.tokenmeter.cli.apim;

import dev.tokenmeter.cli.Environment;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.net.URI;
import java.time.Duration;

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

    @Option(names = "--arm-retries", hidden = true, defaultValue = "4", description = "Retries of throttled (429) and failed (5xx) requests.")
    int retries;

    @Option(names = "--arm-retry-delay", hidden = true, defaultValue = "PT0.8S", description = "Base delay of the exponential back-off when Azure gives no Retry-After.")
    Duration retryDelay;

    @Option(names = "--arm-poll-interval", hidden = true, defaultValue = "PT2S", description = "Interval between polls of a long-running operation.")
    Duration pollInterval;

    public ApimService connect(Environment env) {
        String sub = pick(subscription, env, "AZURE_SUBSCRIPTION_ID", "--subscription");
        String rg = pick(resourceGroup, env, "TOKENMETER_RESOURCE_GROUP", "--resource-group");
        String svc = pick(service, env, "TOKENMETER_APIM_SERVICE", "--service");
        String url = spec.commandLine().getParseResult().hasMatchedOption("--arm-endpoint") ? endpoint
                : env.variable("AZURE_RESOURCE_MANAGER_ENDPOINT").orElse(endpoint);
        ArmClient arm = new ArmClient(URI.create(url), env.credential().get(), retries, retryDelay, pollInterval);
        return new ApimService(arm, sub, rg, svc);
    }

    private String pick(String flag, Environment env, String variable, String option) {
        if (flag != null && !flag.isBlank()) {
            return flag;
        }
        return env.variable(variable).orElseThrow(() -> new ParameterException(spec.commandLine(),
                "Missing " + option + " (or environment variable " + variable + ")"));
    }
}
