package dev.tokenmeter.cli.limits;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.cli.CliRunner;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import dev.tokenmeter.testkit.OpenMeterContractServer.Reply;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/** limits set/show/list against the OpenMeter contract server, which plays features, customers and entitlements. */
class LimitsTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String USER = "alice@contoso.com";

    private final OpenMeterContractServer openmeter = OpenMeterContractServer.start();
    private final List<ObjectNode> features = new CopyOnWriteArrayList<>();
    private final Map<String, ObjectNode> customers = new ConcurrentHashMap<>();
    private final List<ObjectNode> entitlements = new CopyOnWriteArrayList<>();

    @BeforeEach
    void play() {
        openmeter.route("GET", "/api/v1/features", r -> Reply.json(200, MAPPER.valueToTree(features).toString()));
        openmeter.route("POST", "/api/v1/features", r -> {
            ObjectNode f = (ObjectNode) MAPPER.readTree(r.body());
            f.put("id", "01J00000000000000000000F01").put("createdAt", "2026-11-01T00:00:00Z").put("updatedAt", "2026-11-01T00:00:00Z");
            features.add(f);
            return Reply.json(201, f.toString());
        });
        openmeter.route("GET", "/api/v1/customers", r -> page(customers.values().stream()
                .filter(c -> c.path("key").asText("").contains(query(r.query(), "key"))).toList()));
        openmeter.route("POST", "/api/v1/customers", r -> {
            ObjectNode c = (ObjectNode) MAPPER.readTree(r.body());
            c.put("id", "01J00000000000000000000C01").put("createdAt", "2026-11-01T00:00:00Z").put("updatedAt", "2026-11-01T00:00:00Z");
            customers.put(c.get("key").asText(), c);
            return Reply.json(201, c.toString());
        });
        openmeter.route("POST", "/api/v1/subjects/[^/]+/entitlements", r -> Reply.json(201,
                entitlement(key(r.path(), 4), MAPPER.readTree(r.body())).toString()));
        openmeter.route("PUT", "/api/v1/subjects/[^/]+/entitlements/[^/]+/override", r -> {
            entitlements.removeIf(e -> e.get("customerKey").asText().equals(key(r.path(), 4))
                    && e.get("featureKey").asText().equals(key(r.path(), 6)));
            return Reply.json(201, entitlement(key(r.path(), 4), MAPPER.readTree(r.body())).toString());
        });
        openmeter.route("GET", "/api/v2/entitlements", r -> page(entitlements.stream()
                .filter(e -> query(r.query(), "customerKeys").isEmpty() || e.get("customerKey").asText().equals(query(r.query(), "customerKeys")))
                .filter(e -> e.get("featureKey").asText().equals(query(r.query(), "feature"))).toList()));
        openmeter.route("GET", "/api/v1/subjects/[^/]+/entitlements/[^/]+/value", r ->
                Reply.json(200, "{\"hasAccess\":false,\"balance\":0,\"usage\":1250000,\"overage\":250000}"));
    }

    private static String query(String query, String name) {
        if (query != null) {
            for (String pair : query.split("&")) {
                String[] kv = pair.split("=", 2);
                if (kv[0].equals(name)) {
                    return URLDecoder.decode(kv[1], StandardCharsets.UTF_8);
                }
            }
        }
        return "";
    }

    @AfterEach
    void stop() {
        openmeter.close();
    }

    private static String key(String path, int segment) {
        return URLDecoder.decode(path.split("/")[segment], StandardCharsets.UTF_8);
    }

    private static Reply page(List<ObjectNode> items) {
        ObjectNode p = MAPPER.createObjectNode().put("totalCount", items.size()).put("page", 1).put("pageSize", 100);
        ArrayNode arr = p.putArray("items");
        items.forEach(arr::add);
        return Reply.json(200, p.toString());
    }

    private ObjectNode entitlement(String customer, JsonNode create) {
        ObjectNode e = ((ObjectNode) create).deepCopy();
        e.put("id", "01J00000000000000000000E0" + entitlements.size()).put("customerKey", customer)
                .put("customerId", "01J00000000000000000000C01").put("createdAt", "2026-11-01T00:00:00Z")
                .put("updatedAt", "2026-11-01T00:00:00Z");
        e.putObject("currentUsagePeriod").put("from", "2026-11-01T00:00:00Z").put("to", "2026-12-01T00:00:00Z");
        entitlements.add(e);
        return e;
    }

    private CliRunner.Result run(String... args) {
        return new CliRunner().env("TOKENMETER_OPENMETER_URL", openmeter.baseUri().toString()).run(args);
    }

    @Test
    void setCreatesFeatureCustomerAndEntitlementThenChangesNothing() {
        CliRunner.Result first = run("limits", "set", "--user", USER, "--tokens", "1000000", "--period", "month");
        assertThat(first.exitCode()).as(first.err()).isZero();
        assertThat(first.out()).contains("created feature tokenmeter_tokens on meter tokenmeter_total_tokens",
                "created customer " + USER, "created: " + USER + " has 1,000,000 tokens per month");
        assertThat(customers.get(USER).at("/usageAttribution/subjectKeys/0").asText()).isEqualTo(USER);
        assertThat(entitlements).singleElement().satisfies(e -> {
            assertThat(e.get("type").asText()).isEqualTo("metered");
            assertThat(e.at("/usagePeriod/interval").asText()).isEqualTo("MONTH");
            assertThat(e.get("issueAfterReset").asLong()).isEqualTo(1_000_000);
            assertThat(e.get("isSoftLimit").asBoolean()).isFalse();
        });

        CliRunner.Result again = run("limits", "set", "--user", USER, "--tokens", "1000000", "--period", "month");
        assertThat(again.out()).contains("unchanged").doesNotContain("created");

        CliRunner.Result changed = run("limits", "set", "--user", USER, "--tokens", "50000", "--period", "day", "--soft");
        assertThat(changed.out()).contains("replaced: " + USER + " has 50,000 tokens per day (soft)");
        assertThat(entitlements).singleElement().satisfies(e -> assertThat(e.get("isSoftLimit").asBoolean()).isTrue());
        assertThat(openmeter.violations()).isEmpty();
    }

    @Test
    void showAndList() {
        run("limits", "set", "--user", USER, "--tokens", "1000000", "--period", "month");
        CliRunner.Result show = run("limits", "show", "--user", USER);
        assertThat(show.exitCode()).as(show.err()).isZero();
        assertThat(show.out()).contains(USER, "1,000,000", "month", "1,250,000", "250,000", "denied", "2026-12-01T00:00:00Z");
        assertThat(run("limits", "show", "--user", USER, "-o", "json").out()).contains("\"hasAccess\" : false");

        CliRunner.Result list = run("limits", "list");
        assertThat(list.out()).contains("USER", USER, "1,000,000", "hard");
        assertThat(openmeter.requests().stream().filter(r -> r.path().equals("/api/v2/entitlements")))
                .allSatisfy(r -> assertThat(r.query()).startsWith("feature=tokenmeter_tokens"));
        assertThat(openmeter.violations()).isEmpty();
    }

    @Test
    void showWithoutAllowanceSaysHowToSetOne() {
        customers.put("bob", MAPPER.createObjectNode().put("id", "01J00000000000000000000C02").put("name", "bob").put("key", "bob"));
        CliRunner.Result r = run("limits", "show", "--user", "bob");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("no allowance", "tokenmeter limits set --user bob");
    }

    @Test
    void refusesAFeatureOnAnotherMeter() {
        features.add(MAPPER.createObjectNode().put("key", "tokenmeter_tokens").put("meterSlug", "other_meter"));
        CliRunner.Result r = run("limits", "set", "--user", USER, "--tokens", "10", "--period", "day");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("counts meter other_meter");
    }
}
