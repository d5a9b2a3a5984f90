package dev.tokenmeter.cli.openmeter;

import dev.tokenmeter.cli.Environment;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.net.URI;

/** Where OpenMeter is and the token to use; the token is never printed. */
public final class OpenMeterOptions {

    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--openmeter-url", paramLabel = "URL", description = "OpenMeter base URL, e.g. https://openmeter.cloud (env TOKENMETER_OPENMETER_URL).")
    String url;

    @Option(names = "--openmeter-token", paramLabel = "TOKEN", description = "OpenMeter API token (env TOKENMETER_OPENMETER_TOKEN, preferred: a flag is visible to other users of the machine).")
    String token;

    public OpenMeterClient connect(Environment env) {
        String u = url != null ? url : env.variable("TOKENMETER_OPENMETER_URL").orElseThrow(() ->
                new ParameterException(spec.commandLine(), "Missing --openmeter-url (or environment variable TOKENMETER_OPENMETER_URL)"));
        String t = token != null ? token : env.variable("TOKENMETER_OPENMETER_TOKEN").orElse(null);
        return new OpenMeterClient(URI.create(u.replaceAll("/+$", "")), t);
    }
}
