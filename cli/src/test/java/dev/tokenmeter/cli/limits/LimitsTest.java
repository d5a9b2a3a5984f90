package dev.tokenmeter.cli.limits;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.cli.CliRunner;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** limits set/show/list against the OpenMeter contract server, which plays features, customers and entitlements. */
class LimitsTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String USER = "alice@contoso.com";

    private final OpenMeterContractServer openmeter = OpenMeterContractServer.start();
    private final FakeEntitlements fake = new FakeEntitlements(openmeter);
    private final List<ObjectNode> features = fake.features;
    private final Map<String, ObjectNode> customers = fake.customers;
    private final List<ObjectNode> entitlements = fake.entitlements;

    @AfterEach
    void stop() {
        openmeter.close();
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
            assertThat(e.at("/issue/amount").asLong()).isEqualTo(1_000_000);
            assertThat(e.has("issueAfterReset")).as("deprecated in EntitlementMeteredV2CreateInputs").isFalse();
            assertThat(e.get("isSoftLimit").asBoolean()).isFalse();
        });

        CliRunner.Result again = run("limits", "set", "--user", USER, "--tokens", "1000000", "--period", "month");
        assertThat(again.out()).contains("unchanged").doesNotContain("created");

        CliRunner.Result changed = run("limits", "set", "--user", USER, "--tokens", "50000", "--period", "day", "--soft");
        assertThat(changed.out()).contains("replaced: " + USER + " has 50,000 tokens per day (soft)");
        assertThat(entitlements).singleElement().satisfies(e -> assertThat(e.get("isSoftLimit").asBoolean()).isTrue());
        assertThat(openmeter.violations()).isEmpty();
        // the customer-keyed operations, never the deprecated subject-keyed ones
        assertThat(openmeter.requests()).extracting(r -> r.method() + " " + r.path())
                .contains("POST /api/v2/customers/" + Entitlements.segment(USER) + "/entitlements",
                        "PUT /api/v2/customers/" + Entitlements.segment(USER) + "/entitlements/tokenmeter_tokens/override");
        assertThat(openmeter.deprecatedCalls()).isEmpty();
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
        assertThat(openmeter.requests()).extracting(r -> r.method() + " " + r.path())
                .contains("GET /api/v2/customers/" + Entitlements.segment(USER) + "/entitlements/tokenmeter_tokens/value");
        assertThat(openmeter.violations()).isEmpty();
        assertThat(openmeter.deprecatedCalls()).isEmpty();
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
