package dev.tokenmeter.cli.deadletters;

import dev.tokenmeter.bridge.deadletter.DeadLetter;
import dev.tokenmeter.bridge.deadletter.DeadLetterArchive;
import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Environment;
import dev.tokenmeter.cli.ExitCode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Callable;

@Command(name = "extract", mixinStandardHelpOptions = true,
        description = {"The original records of the selected dead letters, byte for byte, to fix them and replay them "
                + "with 'tokenmeter replay'.",
                "Without --to: one record per line on standard output (JSONL). With --to DIR: one file per letter, "
                        + "named <time>-<reason>-<request id or position>.json."})
final class DeadLettersExtractCommand implements Callable<Integer> {

    private static final DateTimeFormatter FILE_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'")
            .withZone(ZoneOffset.UTC);

    @Spec
    CommandSpec spec;
    @Mixin
    StoreOptions store;
    @Option(names = "--to", paramLabel = "DIR", description = "Write one file per letter into DIR (created if missing).")
    Path to;

    private final Environment env;

    DeadLettersExtractCommand(Environment env) {
        this.env = env;
    }

    @Override
    public Integer call() throws Exception {
        StoreOptions.Read read = store.read(env, spec.commandLine());
        int skipped = 0;
        if (to == null) {
            for (DeadLetterArchive.Stored s : read.letters()) {
                String text = utf8OrNull(s.letter().original());
                if (text == null) {
                    // printed as text it would no longer be the same bytes
                    env.err().println("warning: " + s.location() + " holds bytes that are not UTF-8; extract it with --to DIR");
                    skipped++;
                } else {
                    env.out().println(text);
                }
            }
            env.out().flush();
        } else {
            try {
                Files.createDirectories(to);
                int n = 0;
                for (DeadLetterArchive.Stored s : read.letters()) {
                    Path file = to.resolve(fileName(s.letter(), ++n));
                    Files.write(file, s.letter().original());
                }
                env.err().println("Wrote " + n + " records from " + read.store() + " to " + to
                        + "; fix them, then: tokenmeter replay " + to);
            } catch (IOException e) {
                throw new CliFailure("cannot write the extracted records to " + to.toAbsolutePath() + ": " + e.getMessage());
            }
        }
        env.err().flush();
        return read.unreadable() > 0 || skipped > 0 ? ExitCode.FAILURE : ExitCode.OK;
    }

    private static String fileName(DeadLetter letter, int n) {
        String id = letter.requestId() != null ? letter.requestId()
                : (letter.partition() + "-" + letter.position());
        String safe = id.replaceAll("[^A-Za-z0-9._-]", "_");
        return FILE_TIME.format(letter.at()) + "-" + letter.reason().label() + "-" + safe + "-" + n + ".json";
    }

    private static String utf8OrNull(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            return null;
        }
    }
}
