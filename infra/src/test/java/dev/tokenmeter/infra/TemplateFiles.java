package dev.tokenmeter.infra;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** The template and parameters files the module ships, found on disk so that a new file is checked too. */
final class TemplateFiles {

    static final ObjectMapper JSON = new ObjectMapper();

    private TemplateFiles() {
    }

    static Path main() {
        return ProjectPaths.infra().resolve("main.json");
    }

    static List<Path> modules() {
        return list(ProjectPaths.infra().resolve("modules"));
    }

    /** One module by its file name without ".json", e.g. "containerapp". */
    static JsonNode module(String name) {
        return read(ProjectPaths.infra().resolve("modules").resolve(name + ".json"));
    }

    /** The entry template and every module. */
    static List<Path> templates() {
        return Stream.concat(Stream.of(main()), modules().stream()).toList();
    }

    static List<Path> parameterFiles() {
        return list(ProjectPaths.infra().resolve("parameters"));
    }

    static JsonNode read(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot parse " + ProjectPaths.display(file), e);
        }
    }

    private static List<Path> list(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
