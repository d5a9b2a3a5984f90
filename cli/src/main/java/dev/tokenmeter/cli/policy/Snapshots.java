package dev.tokenmeter.cli.policy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.apim.ApimResource;
import dev.tokenmeter.cli.apim.ApimService;
import dev.tokenmeter.cli.apim.ResourceKey;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * What a deployment replaced, saved before it writes, so {@code policy rollback} can put it back; and what it wrote
 * (ETag and a hash of the content), so rollback can tell whether someone changed a resource since. One JSON
 * document per deployment attempt, per service, in a {@link SnapshotStore}. An attempt is recorded as started
 * before the first write and as completed only after the last: a failed or interrupted attempt is never taken as
 * the deployment to roll back. Secret values are never written: a plain secret is recorded without its value.
 */
final class Snapshots {

    enum Status {
        STARTED, FAILED, COMPLETED, ROLLED_BACK;

        String text() {
            return name().toLowerCase().replace('_', '-');
        }

        static Status of(String text) {
            return valueOf(text.toUpperCase().replace('-', '_'));
        }
    }

    /** What a deployment wrote: the ETag the service answered and a hash of the review text (never a secret value). */
    record Written(String etag, String sha256) {
    }

    /** One resource as it was before (null: absent) and, once written, as the deployment left it. */
    record Entry(ResourceKey key, ObjectNode before, boolean secretValueOmitted, boolean plainSecret, Written written) {
    }

    record Snapshot(String name, String takenAt, Status status, String previousVersion, String deployedVersion,
                    String failure, List<Entry> entries) {
        long applied() {
            return entries.stream().filter(e -> e.written() != null).count();
        }
    }

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final DateTimeFormatter FILE_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'")
            .withZone(ZoneOffset.UTC);

    private final SnapshotStore store;
    private final String folder;
    private final String serviceId;

    Snapshots(SnapshotStore store, String serviceId) {
        this.store = store;
        this.serviceId = serviceId;
        this.folder = "deployments/" + digest(serviceId);
    }

    String location() {
        return store.describe(folder);
    }

    /** Saves what the pending changes replace, as a started attempt, before the first write. */
    Attempt begin(Instant at, String previousVersion, String deployedVersion, List<Plan.Change> changes) {
        List<Entry> entries = new ArrayList<>();
        for (Plan.Change c : changes) {
            ObjectNode before = null;
            boolean omitted = false;
            if (c.current() != null) {
                ApimResource was = c.current().resource();
                omitted = plainSecret(was);
                before = omitted ? null : was.toBody();
            }
            entries.add(new Entry(c.key(), before, omitted, plainSecret(c.desired()), null));
        }
        Snapshot s = new Snapshot(folder + "/" + FILE_TIME.format(at) + ".json", at.toString(), Status.STARTED,
                previousVersion, deployedVersion, null, entries);
        Attempt attempt = new Attempt(s);
        attempt.save();
        return attempt;
    }

    /** A deployment under way: each write is recorded as it succeeds, and the outcome at the end. */
    final class Attempt {
        private Snapshot snapshot;

        private Attempt(Snapshot snapshot) {
            this.snapshot = snapshot;
        }

        String where() {
            return store.describe(snapshot.name());
        }

        void applied(Plan.Change change, ApimService.Deployed answer) {
            List<Entry> entries = new ArrayList<>();
            for (Entry e : snapshot.entries()) {
                entries.add(e.key().equals(change.key()) ? new Entry(e.key(), e.before(), e.secretValueOmitted(),
                        e.plainSecret(), new Written(answer.etag(), sha256(change.desired().reviewText()))) : e);
            }
            snapshot = with(snapshot, snapshot.status(), null, entries);
            save();
        }

        void failed(String reason) {
            snapshot = with(snapshot, Status.FAILED, reason, snapshot.entries());
            save();
        }

        void completed() {
            snapshot = with(snapshot, Status.COMPLETED, null, snapshot.entries());
            save();
        }

        private void save() {
            store.write(snapshot.name(), json(snapshot));
        }
    }

    /** Every attempt to this service, oldest first. */
    List<Snapshot> all() {
        List<Snapshot> all = new ArrayList<>();
        for (String name : store.list(folder)) {
            if (name.endsWith("Z.json")) {
                all.add(read(name));
            }
        }
        return all;
    }

    /** The newest completed deployment not yet rolled back. */
    Optional<Snapshot> latest() {
        List<Snapshot> all = all();
        for (int i = all.size() - 1; i >= 0; i--) {
            if (all.get(i).status() == Status.COMPLETED) {
                return Optional.of(all.get(i));
            }
        }
        return Optional.empty();
    }

    void markRolledBack(Snapshot snapshot) {
        store.write(snapshot.name(), json(with(snapshot, Status.ROLLED_BACK, snapshot.failure(), snapshot.entries())));
    }

    /** A hash of what a reviewer compares; for a plain secret that is a marker, never the value. */
    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean plainSecret(ApimResource r) {
        return r instanceof ApimResource.NamedValue nv && nv.secret() && nv.keyVault() == null;
    }

    private static Snapshot with(Snapshot s, Status status, String failure, List<Entry> entries) {
        return new Snapshot(s.name(), s.takenAt(), status, s.previousVersion(), s.deployedVersion(), failure,
                List.copyOf(entries));
    }

    private String json(Snapshot s) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("service", serviceId);
        root.put("takenAt", s.takenAt());
        root.put("status", s.status().text());
        if (s.failure() != null) {
            root.put("failure", s.failure());
        }
        root.put("previousVersion", s.previousVersion());
        root.put("deployedVersion", s.deployedVersion());
        ArrayNode resources = root.putArray("resources");
        for (Entry e : s.entries()) {
            ObjectNode r = resources.addObject();
            r.put("kind", e.key().kind().name());
            r.put("name", e.key().name());
            r.set("before", e.before());
            r.put("secretValueOmitted", e.secretValueOmitted());
            r.put("plainSecret", e.plainSecret());
            if (e.written() != null) {
                r.putObject("written").put("etag", e.written().etag()).put("sha256", e.written().sha256());
            }
        }
        try {
            return MAPPER.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private Snapshot read(String name) {
        JsonNode root;
        try {
            root = MAPPER.readTree(store.read(name));
        } catch (JsonProcessingException e) {
            throw new CliFailure("the rollback snapshot " + store.describe(name) + " is not readable JSON ("
                    + e.getOriginalMessage() + "); move it aside to roll back further");
        }
        List<Entry> entries = new ArrayList<>();
        for (JsonNode e : root.path("resources")) {
            JsonNode before = e.get("before");
            JsonNode written = e.get("written");
            entries.add(new Entry(new ResourceKey(ResourceKey.Kind.valueOf(e.get("kind").asText()), e.get("name").asText()),
                    before == null || before.isNull() ? null : (ObjectNode) before,
                    e.path("secretValueOmitted").asBoolean(false), e.path("plainSecret").asBoolean(false),
                    written == null ? null : new Written(written.path("etag").asText(null), written.path("sha256").asText(null))));
        }
        // snapshots written before attempts had a status were only kept for completed deployments
        Status status = root.hasNonNull("status") ? Status.of(root.get("status").asText()) : Status.COMPLETED;
        return new Snapshot(name, root.path("takenAt").asText(), status, root.path("previousVersion").asText(null),
                root.path("deployedVersion").asText(null), root.path("failure").asText(null), List.copyOf(entries));
    }

    private static String digest(String serviceId) {
        String hash = sha256(serviceId.toLowerCase());
        return serviceId.substring(serviceId.lastIndexOf('/') + 1) + "-" + hash.substring(0, 12);
    }
}
