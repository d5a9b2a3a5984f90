package dev.tokenmeter.cli.openmeter;

import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.envfile.EnvOption;
import dev.tokenmeter.cli.envfile.EnvironmentFile;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Optional;

/** Where OpenMeter is and the token to use; the token is never printed. */
public final class OpenMeterOptions {

    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--openmeter-url", paramLabel = "URL", description = "OpenMeter base URL, e.g. https://openmeter.cloud (env TOKENMETER_OPENMETER_URL).")
    String url;

    @Option(names = "--openmeter-token", paramLabel = "TOKEN", description = "OpenMeter API token (env TOKENMETER_OPENMETER_TOKEN, preferred: a flag is visible to other users of the machine).")
    String token;

    @Mixin
    EnvOption environment;

    /** The environment file {@code --env} names, for commands that take more than OpenMeter's settings from it. */
    public Optional<EnvironmentFile> environmentFile(Environment env) {
        return environment.load(env);
    }

    public OpenMeterClient connect(Environment env) {
        Optional<EnvironmentFile> file = environment.load(env);
        return new OpenMeterClient(url(env, file), token(env, file));
    }

    private URI url(Environment env, Optional<EnvironmentFile> file) {
        Optional<EnvironmentFile.OpenMeter> om = file.map(EnvironmentFile::openmeter);
        if (url != null) {
            return base(url, "--openmeter-url", spec.commandLine());
        }
        if (om.map(EnvironmentFile.OpenMeter::url).isPresent()) {
            return base(om.get().url(), file.get().origin("openmeter.url"), spec.commandLine());
        }
        return base(env.variable("TOKENMETER_OPENMETER_URL").orElseThrow(() -> new ParameterException(spec.commandLine(),
                "Missing --openmeter-url (or environment variable TOKENMETER_OPENMETER_URL, or openmeter.url in the --env file)")),
                "TOKENMETER_OPENMETER_URL", spec.commandLine());
    }

    private String token(Environment env, Optional<EnvironmentFile> file) {
        if (token != null) {
            return token;
        }
        Optional<String> variable = file.map(EnvironmentFile::openmeter).map(EnvironmentFile.OpenMeter::tokenEnv);
        if (variable.isPresent()) {
            return env.variable(variable.get()).orElseThrow(() -> new CliFailure(file.get().origin("openmeter.tokenEnv")
                    + ": environment variable " + variable.get() + " is not set; export the OpenMeter API token in it"));
        }
        return env.variable("TOKENMETER_OPENMETER_TOKEN").orElse(null);
    }

    /**
     * The base URL the client adds /api/v1/... to. A URL copied from OpenMeter's API reference often ends in /api/v1
     * already; that suffix is dropped rather than doubled.
     */
    public static URI base(String text, String origin, CommandLine commandLine) {
        URI uri;
        try {
            uri = new URI(text.strip());
        } catch (URISyntaxException e) {
            uri = null;
        }
        if (uri == null || uri.getHost() == null || !("https".equals(uri.getScheme()) || "http".equals(uri.getScheme()))
                || uri.getQuery() != null) {
            throw new ParameterException(commandLine, "Invalid OpenMeter URL '" + text + "' (from " + origin
                    + "): give an absolute URL such as https://openmeter.cloud");
        }
        String s = uri.toString().replaceAll("/+$", "").replaceAll("/api(/v1)?$", "");
        return URI.create(s);
    }
}
