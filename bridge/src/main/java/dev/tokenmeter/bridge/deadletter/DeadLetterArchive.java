package dev.tokenmeter.bridge.deadletter;

import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.models.BlobItem;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Reads dead letters back from either store, for the operator's tools: the {@code dead-letters-<day>.jsonl} files
 * of a directory, or the blobs of a container. Filters by time and reason are applied to file and blob names first,
 * so a container's older days are not downloaded.
 */
public abstract sealed class DeadLetterArchive {

    /** A letter and where it is kept: {@code <file>:<line>} or the blob's name. */
    public record Stored(String location, DeadLetter letter) {
    }

    /** What was read: the letters (oldest first) and, one line each, what could not be read and where. */
    public record Contents(List<Stored> letters, List<String> unreadable) {
    }

    /** Which letters to read: {@code since} null for all, {@code reasons} empty for every reason. */
    public record Selection(Instant since, Set<DeadLetter.Reason> reasons) {
        public Selection {
            reasons = Set.copyOf(reasons);
        }

        boolean matches(DeadLetter letter) {
            return (since == null || !letter.at().isBefore(since))
                    && (reasons.isEmpty() || reasons.contains(letter.reason()));
        }
    }

    private static final DateTimeFormatter DAY = DateTimeFormatter.ISO_LOCAL_DATE.withZone(ZoneOffset.UTC);

    public abstract Contents read(Selection selection) throws IOException;

    public abstract String describe();

    public static DeadLetterArchive directory(Path directory) {
        return new Directory(directory);
    }

    public static DeadLetterArchive container(BlobContainerClient container) {
        return new Container(container);
    }

    static Contents sorted(List<Stored> letters, List<String> unreadable) {
        letters.sort(Comparator.comparing((Stored s) -> s.letter().at()).thenComparing(Stored::location));
        return new Contents(List.copyOf(letters), List.copyOf(unreadable));
    }

    private static final class Directory extends DeadLetterArchive {
        private static final Pattern FILE = Pattern.compile(Pattern.quote(DirectoryDeadLetterStore.PREFIX)
                + "(\\d{4}-\\d{2}-\\d{2})" + Pattern.quote(DirectoryDeadLetterStore.SUFFIX));
        private final Path directory;

        Directory(Path directory) {
            this.directory = directory;
        }

        @Override
        public String describe() {
            return directory.toString();
        }

        @Override
        public Contents read(Selection selection) throws IOException {
            if (!Files.isDirectory(directory)) {
                throw new IOException("dead-letter directory " + directory.toAbsolutePath() + " does not exist");
            }
            String firstDay = selection.since() == null ? null : DAY.format(selection.since());
            List<Path> files;
            try (Stream<Path> listing = Files.list(directory)) {
                files = listing.filter(f -> {
                    Matcher m = FILE.matcher(f.getFileName().toString());
                    return m.matches() && (firstDay == null || m.group(1).compareTo(firstDay) >= 0);
                }).sorted().toList();
            }
            List<Stored> letters = new ArrayList<>();
            List<String> unreadable = new ArrayList<>();
            for (Path file : files) {
                try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                    String line;
                    int number = 0;
                    while ((line = in.readLine()) != null) {
                        number++;
                        if (line.isBlank()) {
                            continue;
                        }
                        String location = file + ":" + number;
                        try {
                            DeadLetter letter = DeadLetterJson.decode(line.getBytes(StandardCharsets.UTF_8));
                            if (selection.matches(letter)) {
                                letters.add(new Stored(location, letter));
                            }
                        } catch (IllegalArgumentException e) {
                            unreadable.add(location + ": " + e.getMessage());
                        }
                    }
                }
            }
            return sorted(letters, unreadable);
        }
    }

    private static final class Container extends DeadLetterArchive {
        private static final Pattern NAME = Pattern.compile("(\\d{4}-\\d{2}-\\d{2}/\\d{6}\\.\\d{3}Z)-([a-z_]+)-[0-9a-f]+\\.json");
        private final BlobContainerClient container;

        Container(BlobContainerClient container) {
            this.container = container;
        }

        @Override
        public String describe() {
            return dev.tokenmeter.bridge.Redaction.url(container.getBlobContainerUrl());
        }

        @Override
        public Contents read(Selection selection) throws IOException {
            List<Stored> letters = new ArrayList<>();
            List<String> unreadable = new ArrayList<>();
            try {
                for (BlobItem item : container.listBlobs()) {
                    String name = item.getName();
                    if (!mayMatch(name, selection)) {
                        continue;
                    }
                    try {
                        DeadLetter letter = DeadLetterJson.decode(container.getBlobClient(name).downloadContent().toBytes());
                        if (selection.matches(letter)) {
                            letters.add(new Stored(name, letter));
                        }
                    } catch (IllegalArgumentException e) {
                        unreadable.add(name + ": " + e.getMessage());
                    }
                }
            } catch (RuntimeException e) {
                throw new IOException("cannot read dead letters from " + describe() + ": "
                        + dev.tokenmeter.bridge.Redaction.url(String.valueOf(e.getMessage())), e);
            }
            return sorted(letters, unreadable);
        }

        /** From the name alone: a blob named otherwise is read and judged by its content. */
        private static boolean mayMatch(String name, Selection selection) {
            Matcher m = NAME.matcher(name);
            if (!m.matches()) {
                return true;
            }
            try {
                Instant at = BlobDeadLetterStore.NAME_TIME.parse(m.group(1), Instant::from);
                if (selection.since() != null && at.isBefore(selection.since().minusMillis(1))) {
                    return false;
                }
            } catch (DateTimeParseException e) {
                return true;
            }
            return selection.reasons().isEmpty()
                    || selection.reasons().stream().anyMatch(r -> r.label().equals(m.group(2)));
        }
    }
}
