package dev.tokenmeter.cli.limits;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.ExitCode;
import dev.tokenmeter.cli.openmeter.OpenMeterOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;

@Command(name = "set", mixinStandardHelpOptions = true,
        description = {"Give a user an allowance of N tokens per day, week or month; idempotent.",
                "Creates the feature on the tokens meter and the user's customer when missing; a changed allowance replaces the old one (override)."})
final class LimitsSetCommand implements Callable<Integer> {

    /** Usage periods of an allowance. */
    enum Period {
        day, week, month
    }

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;
    @Mixin
    OpenMeterOptions openmeter;
    @Mixin
    LimitOptions limit;
    @Option(names = "--user", required = true, description = "The user (the subject the bridge sends).")
    String user;
    @Option(names = "--tokens", required = true, description = "Tokens per period.")
    long tokens;
    @Option(names = "--period", required = true, description = "day, week or month.")
    Period period;
    @Option(names = "--soft", description = "Soft limit: usage beyond the allowance is recorded as overage, access is not denied.")
    boolean soft;

    private final Environment env;

    LimitsSetCommand(Environment env) {
        this.env = env;
    }

    @Override
    public Integer call() {
        if (tokens < 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--tokens must be 0 or more");
        }
        Entitlements om = new Entitlements(openmeter.connect(env));
        String meter = limit.meterSlug();
        Optional<JsonNode> feature = om.feature(limit.feature);
        if (feature.isEmpty()) {
            om.createFeature(limit.feature, meter);
            env.out().println("created feature " + limit.feature + " on meter " + meter);
        } else if (!meter.equals(feature.get().path("meterSlug").asText())) {
            throw new CliFailure("feature " + limit.feature + " counts meter " + feature.get().path("meterSlug").asText()
                    + ", not " + meter + ": pass --feature with another key, or the --mapping/--slug-prefix its meter belongs to");
        }
        if (om.ensureCustomer(user)) {
            env.out().println("created customer " + user + " (usage subject " + user + ")");
        }
        String interval = period.name().toUpperCase(Locale.ROOT);
        Optional<Entitlements.Limit> current = om.limit(user, limit.feature);
        String what = String.format("%,d tokens per %s%s", tokens, period, soft ? " (soft)" : "");
        if (current.isPresent() && current.get().tokens() == tokens && current.get().period().equals(interval)
                && current.get().soft() == soft) {
            env.out().println("unchanged: " + user + " already has " + what + " on " + limit.feature);
        } else {
            om.create(user, limit.feature, tokens, interval, soft, current.isPresent());
            env.out().println((current.isPresent() ? "replaced" : "created") + ": " + user + " has " + what + " on " + limit.feature);
        }
        env.out().flush();
        return ExitCode.OK;
    }
}
