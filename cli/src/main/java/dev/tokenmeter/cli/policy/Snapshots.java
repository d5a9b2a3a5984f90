package dev.tokenmeter.cli.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.apim.ApimResource;
import dev.tokenmeter.cli.apim.ResourceKey;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * What a deployment replaced, saved before it writes, so {@code policy rollback} can put it back. One JSON file per
 * deployment under the state directory, per service. Secret values are never written to disk: a plain secret that
 * a deployment changed is recorded without its value and rollback says it cannot restore it.
 */
final class Snapshots {

    /** One resource as it was: absent (before == null) or its ARM body. */
    record Entry(ResourceKey key, ObjectNode before, boolean secretValueOmitted) {
    }

    record Snapshot(Path file, String takenAt, String previousVersion, String deployedVersion, List<Entry> entries) {
    }

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final DateTimeFormatter FILE_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'")
            .withZone(ZoneOffset.UTC);

    private final Path dir;

    Snapshots(Path stateDir, String serviceId) {
        this.dir = stateDir.resolve("deployments").resolve(digest(serviceId));
    }

    Path save(Instant at, String serviceId, String previousVersion, String deployedVersion, List<Plan.Change> changes) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("service", serviceId);
        root.put("takenAt", at.toString());
        root.put("previousVersion", previousVersion);
        root.put("deployedVersion", deployedVersion);
        ArrayNode entries = root.putArray("resources");
        for (Plan.Change c : changes) {
            ObjectNode e = entries.addObject();
            e.put("kind", c.key().kind().name());
            e.put("name", c.key().name());
            if (c.current() != null) {
                ApimResource before = c.current().resource();
                boolean omitted = before instanceof ApimResource.NamedValue nv && nv.secret() && nv.keyVault() == null;
                e.set("before", omitted ? null : before.toBody());
                e.put("secretValueOmitted", omitted);
            } else {
                e.putNull("before");
            }
        }
        try {
            Files.createDirectories(dir);
            Path file = dir.resolve(FILE_TIME.format(at) + ".json");
            Files.writeString(file, MAPPER.writeValueAsString(root), StandardCharsets.UTF_8);
            return file;
        } catch (IOException e) {
            throw new CliFailure("cannot save the rollback snapshot in " + dir + ": " + e.getMessage()
                    + "; nothing was deployed. Fix the directory or pass --state-dir");
        }
    }

    /** The newest deployment not yet rolled back. */
    Optional<Snapshot> latest() {
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> candidates = files.filter(f -> f.getFileName().toString().endsWith("Z.json")).sorted().toList();
            if (candidates.isEmpty()) {
                return Optional.empty();
            }
            return Optional.of(read(candidates.get(candidates.size() - 1)));
        } catch (IOException e) {
            throw new CliFailure("cannot read the rollback snapshots in " + dir + ": " + e.getMessage());
        }
    }

    void markRolledBack(Snapshot snapshot) {
        try {
            Path f = snapshot.file();
            Files.move(f, f.resolveSibling(f.getFileName().toString().replace(".json", ".rolled-back.json")));
        } catch (IOException e) {
            throw new CliFailure("rolled back, but cannot mark " + snapshot.file() + " as done: " + e.getMessage()
                    + "; delete that file so a second rollback does not repeat it");
        }
    }

    private static Snapshot read(Path file) throws IOException {
        JsonNode root = MAPPER.readTree(file.toFile());
        List<Entry> entries = new ArrayList<>();
        for (JsonNode e : root.path("resources")) {
            JsonNode before = e.get("before");
            entries.add(new Entry(new ResourceKey(ResourceKey.Kind.valueOf(e.get("kind").asText()), e.get("name").asText()),
                    before == null || before.isNull() ? null : (ObjectNode) before,
                    e.path("secretValueOmitted").asBoolean(false)));
        }
        return new Snapshot(file, root.path("takenAt").asText(), root.path("previousVersion").asText(null),
                root.path("deployedVersion").asText(null), entries);
    }

    private static String digest(String serviceId) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(serviceId.toLowerCase().getBytes(StandardCharsets.UTF_8));
            return serviceId.substring(serviceId.lastIndexOf('/') + 1) + "-" + HexFormat.of().formatHex(hash, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
