package dev.tokenmeter.policies.scenarios;

import java.nio.file.Path;

/** A scenario file that cannot be read as one: names the file and the field, e.g. {@code scenarios[2].expect.status}. */
public final class MalformedScenario extends RuntimeException {
    private final Path file;
    private final String field;

    public MalformedScenario(Path file, String field, String problem) {
        super(file + ": " + (field.isEmpty() ? "" : field + ": ") + problem);
        this.file = file;
        this.field = field;
    }

    public Path file() {
        return file;
    }

    public String field() {
        return field;
    }
}
