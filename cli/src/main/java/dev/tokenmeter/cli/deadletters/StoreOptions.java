package dev.tokenmeter.cli.deadletters;

import dev.tokenmeter.bridge.deadletter.DeadLetter;
import dev.tokenmeter.bridge.deadletter.DeadLetterArchive;
import dev.tokenmeter.bridge.deadletter.DeadLetterContainer;
import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Environment;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Where the dead letters are and which of them a subcommand works on. */
final class StoreOptions {

    private static final Pattern AGE = Pattern.compile("(\\d+)([mhd])");

    @Parameters(index = "0", arity = "0..1", paramLabel = "STORE",
            description = "The dead-letter directory or Blob container URL (default: env "
                    + "TOKENMETER_DEAD_LETTER_BLOB_CONTAINER_URL, else TOKENMETER_DEAD_LETTER_DIR, as the bridge reads them).")
    String store;
    @Option(names = "--connection-string", paramLabel = "CS",
            description = "Storage connection string (its account key) instead of Azure sign-in; prefer the environment "
                    + "variable TOKENMETER_DEAD_LETTER_CONNECTION_STRING.")
    String connectionString;
    @Option(names = "--reason", paramLabel = "REASON", split = ",",
            description = "Only these reasons: invalid_record, rejected_by_sink, internal_error, undelivered.")
    List<String> reasons;
    @Option(names = "--since", paramLabel = "WHEN",
            description = "Only letters written at or after WHEN: an instant (2026-12-02T03:00:00Z), a UTC day "
                    + "(2026-12-02) or an age (90m, 6h, 2d).")
    String since;

    /** Reads the selected letters; unreadable entries are said on stderr, one line each, and counted. */
    Read read(Environment env, CommandLine commandLine) {
        DeadLetterArchive archive = archive(env, commandLine);
        DeadLetterArchive.Selection selection = new DeadLetterArchive.Selection(since(env, commandLine), reasons(commandLine));
        DeadLetterArchive.Contents contents;
        try {
            contents = archive.read(selection);
        } catch (IOException e) {
            throw new CliFailure(e.getMessage());
        }
        for (String problem : contents.unreadable()) {
            env.err().println("warning: skipped unreadable dead letter " + problem);
        }
        env.err().flush();
        return new Read(archive.describe(), contents.letters(), contents.unreadable().size());
    }

    record Read(String store, List<DeadLetterArchive.Stored> letters, int unreadable) {
    }

    private DeadLetterArchive archive(Environment env, CommandLine commandLine) {
        String location = store != null ? store : env.variable("TOKENMETER_DEAD_LETTER_BLOB_CONTAINER_URL")
                .or(() -> env.variable("TOKENMETER_DEAD_LETTER_DIR"))
                .orElseThrow(() -> new ParameterException(commandLine, "Missing STORE: the dead-letter directory or Blob "
                        + "container URL (or TOKENMETER_DEAD_LETTER_BLOB_CONTAINER_URL / TOKENMETER_DEAD_LETTER_DIR)"));
        if (!DeadLetterContainer.isUrl(location)) {
            return DeadLetterArchive.directory(Path.of(location));
        }
        String cs = connectionString != null ? connectionString
                : env.variable("TOKENMETER_DEAD_LETTER_CONNECTION_STRING").orElse(null);
        try {
            return DeadLetterArchive.container(DeadLetterContainer.connect(location, cs, "STORE", env.credential()));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(commandLine, e.getMessage());
        }
    }

    private Set<DeadLetter.Reason> reasons(CommandLine commandLine) {
        Set<DeadLetter.Reason> chosen = EnumSet.noneOf(DeadLetter.Reason.class);
        if (reasons != null) {
            for (String reason : reasons) {
                try {
                    chosen.add(DeadLetter.Reason.fromLabel(reason.trim().toLowerCase(Locale.ROOT)));
                } catch (IllegalArgumentException e) {
                    throw new ParameterException(commandLine, "--reason: " + e.getMessage());
                }
            }
        }
        return chosen;
    }

    private Instant since(Environment env, CommandLine commandLine) {
        if (since == null) {
            return null;
        }
        String text = since.trim();
        Matcher age = AGE.matcher(text);
        if (age.matches()) {
            long n = Long.parseLong(age.group(1));
            Duration d = switch (age.group(2)) {
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            };
            return env.clock().instant().minus(d);
        }
        try {
            return text.length() == 10 ? LocalDate.parse(text).atStartOfDay(ZoneOffset.UTC).toInstant() : Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw new ParameterException(commandLine, "--since '" + since + "': use an instant (2026-12-02T03:00:00Z), "
                    + "a UTC day (2026-12-02) or an age (90m, 6h, 2d)");
        }
    }
}
