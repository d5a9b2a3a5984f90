package dev.tokenmeter.policies.harness;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenmeter.policies.PolicySetDir;
import dev.tokenmeter.policies.set.PolicySet;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import dev.tokenmeter.testkit.OpenMeterContractServer.Reply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static dev.tokenmeter.policies.harness.PolicyHarnessTest.OID;
import static dev.tokenmeter.policies.harness.PolicyHarnessTest.parse;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * tokenmeter-entitlement-check in the example API policy, its expressions compiled by mcs and run by mono, its
 * send-requests made for real against a local OpenMeter that checks every request against OpenMeter's OpenAPI
 * document. The APIM cache is per test and its clock is moved by the test, never waited for.
 */
class EntitlementCheckTest {

    static final String VALUE_PATH = "/api/v1/subjects/" + OID + "/entitlements/tokenmeter_tokens/value";
    static final String ENTITLEMENTS_PATH = "/api/v1/subjects/" + OID + "/entitlements";
    static final String TOKEN = "om_test_token_for_the_gateway";
    static final String PERIOD_END = "2026-12-01T00:00:00Z";

    static HarnessFixture fixture;

    OpenMeterContractServer openmeter;
    ApimCache cache;
    /** Released when the test ends, so a route simulating a slow OpenMeter never outlives its test. */
    final CountDownLatch testOver = new CountDownLatch(1);

    @BeforeAll
    static void compile() {
        fixture = new HarnessFixture(PolicySet.load(PolicySetDir.shipped()));
    }

    @AfterAll
    static void stopHost() {
        if (fixture != null) {
            fixture.close();
        }
    }

    @BeforeEach
    void startOpenMeter() {
        openmeter = OpenMeterContractServer.start();
        cache = new ApimCache();
    }

    @AfterEach
    void stopOpenMeter() {
        testOver.countDown();
        openmeter.close();
        assertThat(openmeter.violations()).as("requests the real OpenMeter would refuse").isEmpty();
    }

    // ---------- OpenMeter answers ----------

    @Test
    void allowedRequestGoesOnWithTheHeaderAndIsRecorded() {
        openmeter.route("GET", VALUE_PATH, r -> value(true, 250_000, 750_000));
        Outcome outcome = run(chat("allowed"), URI.create(openmeter.baseUri().toString()));
        assertThat(outcome.status()).isEqualTo(200);
        assertThat(outcome.reachedBackend()).isTrue();
        assertThat(outcome.responseHeaders()).containsEntry("x-tokenmeter-entitlement", List.of("allowed"));
        assertThat(outcome.eventHubMessages()).hasSize(1);
        assertThat(openmeter.requests()).singleElement().satisfies(r -> {
            assertThat(r.method()).isEqualTo("GET");
            assertThat(r.path()).isEqualTo(VALUE_PATH);
            assertThat(r.header("Authorization")).isEqualTo("Bearer " + TOKEN);
        });
        assertThat(cache.stores()).isEqualTo(1);
    }

    @Test
    void deniedIsA429WithBodyAndRetryAfterUntilThePeriodEndsAndNeverReachesTheBackend() {
        openmeter.route("GET", VALUE_PATH, r -> value(false, 0, 1_000_000));
        openmeter.route("GET", ENTITLEMENTS_PATH, r -> Reply.json(200, "[" + meteredEntitlement() + "]"));
        Outcome outcome = run(chat("denied"), openmeter.baseUri());
        assertThat(outcome.status()).isEqualTo(429);
        assertThat(outcome.reachedBackend()).isFalse();
        assertThat(outcome.eventHubMessages()).as("a denied request costs nothing: no usage record").isEmpty();
        long untilReset = (long) Math.ceil(Duration.between(Instant.parse(ScenarioContext.TIMESTAMP), Instant.parse(PERIOD_END)).toMillis() / 1000.0);
        assertThat(outcome.responseHeaders())
                .containsEntry("Retry-After", List.of(Long.toString(untilReset)))
                .containsEntry("x-tokenmeter-entitlement", List.of("denied"))
                .containsEntry("Content-Type", List.of("application/json"));
        JsonNode error = parse(outcome.responseBody()).path("error");
        assertThat(error.path("code").asText()).isEqualTo("TokenAllowanceExhausted");
        assertThat(error.path("user").asText()).isEqualTo(OID);
        assertThat(error.path("feature").asText()).isEqualTo("tokenmeter_tokens");
        assertThat(error.path("balance").asDouble()).isZero();
        assertThat(error.path("usage").asDouble()).isEqualTo(1_000_000);
        assertThat(error.path("resetsAt").asText()).isEqualTo(PERIOD_END);
        assertThat(openmeter.requests()).extracting(OpenMeterContractServer.Received::path).containsExactly(VALUE_PATH, ENTITLEMENTS_PATH);
        assertThat(openmeter.requests()).allSatisfy(r -> assertThat(r.header("Authorization")).isEqualTo("Bearer " + TOKEN));
    }

    @Test
    void deniedWithoutAKnownResetRetriesAfterTheCacheTime() {
        openmeter.route("GET", VALUE_PATH, r -> value(false, 0, 500));
        openmeter.route("GET", ENTITLEMENTS_PATH, r -> Reply.problem(500, "internal error"));
        Outcome outcome = run(chat("denied-no-reset").namedValue("tokenmeter-entitlement-cache-seconds", "45"), openmeter.baseUri());
        assertThat(outcome.status()).isEqualTo(429);
        assertThat(outcome.responseHeaders()).containsEntry("Retry-After", List.of("45"));
        assertThat(parse(outcome.responseBody()).path("error").path("resetsAt").isNull()).isTrue();
    }

    @Test
    void noEntitlementIsAllowedByDefaultAndDeniedWhenConfigured() {
        openmeter.route("GET", VALUE_PATH, r -> Reply.problem(404, "entitlement not found"));
        Outcome allowed = run(chat("missing-allow"), openmeter.baseUri());
        assertThat(allowed.status()).isEqualTo(200);
        assertThat(allowed.responseHeaders()).containsEntry("x-tokenmeter-entitlement", List.of("allowed"));

        cache = new ApimCache();
        Outcome denied = run(chat("missing-deny").namedValue("tokenmeter-entitlement-missing", "deny"), openmeter.baseUri());
        assertThat(denied.status()).isEqualTo(429);
        assertThat(parse(denied.responseBody()).path("error").path("message").asText()).contains("has no token allowance");
        // no period to look up for an entitlement that does not exist
        assertThat(openmeter.requests()).extracting(OpenMeterContractServer.Received::path).containsExactly(VALUE_PATH, VALUE_PATH);
    }

    // ---------- the cache ----------

    @Test
    void secondRequestIsAnsweredFromTheCache() {
        openmeter.route("GET", VALUE_PATH, r -> value(true, 900, 100));
        Outcome first = run(chat("cache-1"), openmeter.baseUri());
        Outcome second = run(chat("cache-2"), openmeter.baseUri());
        assertThat(first.status()).isEqualTo(200);
        assertThat(second.status()).isEqualTo(200);
        assertThat(second.responseHeaders()).containsEntry("x-tokenmeter-entitlement", List.of("allowed"));
        assertThat(second.sendRequests()).as("a cached answer needs no request").isEmpty();
        assertThat(openmeter.requests()).hasSize(1);
    }

    @Test
    void aCachedDenialIsStillA429WithoutAskingAgain() {
        openmeter.route("GET", VALUE_PATH, r -> value(false, 0, 1_000_000));
        openmeter.route("GET", ENTITLEMENTS_PATH, r -> Reply.json(200, "[" + meteredEntitlement() + "]"));
        run(chat("denied-1"), openmeter.baseUri());
        Outcome second = run(chat("denied-2"), openmeter.baseUri());
        assertThat(second.status()).isEqualTo(429);
        assertThat(parse(second.responseBody()).path("error").path("resetsAt").asText()).isEqualTo(PERIOD_END);
        assertThat(openmeter.requests()).hasSize(2);
    }

    @Test
    void theCacheExpiresAfterTheConfiguredSeconds() {
        openmeter.route("GET", VALUE_PATH, r -> value(true, 900, 100));
        run(chat("expiry-1"), openmeter.baseUri());
        cache.advance(Duration.ofSeconds(59));
        run(chat("expiry-2"), openmeter.baseUri());
        assertThat(openmeter.requests()).as("59 s later the answer is still cached").hasSize(1);
        cache.advance(Duration.ofSeconds(1));
        // meanwhile the bridge sent usage and the allowance ran out: the next check sees it
        openmeter.route("GET", VALUE_PATH, r -> value(false, 0, 1000));
        openmeter.route("GET", ENTITLEMENTS_PATH, r -> Reply.json(200, "[]"));
        Outcome third = run(chat("expiry-3"), openmeter.baseUri());
        assertThat(third.status()).isEqualTo(429);
        assertThat(openmeter.requests()).extracting(OpenMeterContractServer.Received::path)
                .containsExactly(VALUE_PATH, VALUE_PATH, ENTITLEMENTS_PATH);
    }

    // ---------- OpenMeter unavailable ----------

    @Test
    void refusedConnectionFailsOpen() {
        Outcome outcome = run(chat("down-open"), refusingUri());
        assertThat(outcome.status()).isEqualTo(200);
        assertThat(outcome.reachedBackend()).isTrue();
        assertThat(outcome.responseHeaders()).containsEntry("x-tokenmeter-entitlement", List.of("fail-open"));
        assertThat(outcome.sendRequests()).singleElement().satisfies(s -> assertThat(s.failure()).isEqualTo("ConnectionFailure"));
        assertThat(outcome.eventHubMessages()).as("let through, so recorded").hasSize(1);
        assertThat(outcome.errors()).isEmpty();
        assertThat(cache.stores()).as("an outage is not a verdict to cache").isZero();
    }

    @Test
    void refusedConnectionFailsClosed() {
        Outcome outcome = run(chat("down-closed").namedValue("tokenmeter-entitlement-fail-mode", "closed"), refusingUri());
        assertThat(outcome.status()).isEqualTo(503);
        assertThat(outcome.reachedBackend()).isFalse();
        assertThat(outcome.responseHeaders()).containsEntry("x-tokenmeter-entitlement", List.of("fail-closed"))
                .containsEntry("Retry-After", List.of("60"));
        assertThat(parse(outcome.responseBody()).path("error").path("code").asText()).isEqualTo("EntitlementCheckUnavailable");
        assertThat(outcome.eventHubMessages()).isEmpty();
        assertThat(cache.stores()).isZero();
    }

    @Test
    void slowOpenMeterIsCutOffAtTheTimeout() {
        // the route holds the answer far beyond the policy's 1 s timeout (until the test ends)
        openmeter.route("GET", VALUE_PATH, r -> {
            testOver.await(30, TimeUnit.SECONDS);
            return value(true, 1, 1);
        });
        for (String mode : List.of("open", "closed")) {
            cache = new ApimCache();
            long started = System.nanoTime();
            Outcome outcome = run(chat("slow-" + mode).namedValue("tokenmeter-entitlement-timeout", "1")
                    .namedValue("tokenmeter-entitlement-fail-mode", mode), openmeter.baseUri());
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            assertThat(took).as("1 s timeout plus a margin for running the policy").isLessThan(Duration.ofMillis(2500));
            assertThat(took).as("it did wait for the timeout").isGreaterThanOrEqualTo(Duration.ofMillis(950));
            assertThat(outcome.sendRequests()).singleElement().satisfies(s -> assertThat(s.failure()).isEqualTo("Timeout"));
            assertThat(outcome.responseHeaders()).containsEntry("x-tokenmeter-entitlement", List.of("fail-" + mode));
            assertThat(outcome.status()).isEqualTo(mode.equals("open") ? 200 : 503);
        }
        assertThat(openmeter.requests()).hasSize(2);
    }

    @Test
    void serverErrorsApplyTheFailModeAndAreNotCached() {
        openmeter.route("GET", VALUE_PATH, r -> Reply.problem(503, "maintenance"));
        Outcome open = run(chat("5xx-open"), openmeter.baseUri());
        assertThat(open.status()).isEqualTo(200);
        assertThat(open.responseHeaders()).containsEntry("x-tokenmeter-entitlement", List.of("fail-open"));
        Outcome closed = run(chat("5xx-closed").namedValue("tokenmeter-entitlement-fail-mode", "closed"), openmeter.baseUri());
        assertThat(closed.status()).isEqualTo(503);
        assertThat(parse(closed.responseBody()).path("error").path("message").asText()).contains("OpenMeter answered 503");
        assertThat(openmeter.requests()).as("each request asked again").hasSize(2);
        assertThat(cache.stores()).isZero();
    }

    // ---------- helpers ----------

    Outcome run(Scenario scenario, URI openmeterUrl) {
        PolicyRunner runner = new PolicyRunner(fixture.set, PolicyHarnessTest.API, fixture.host,
                Map.of("tokenmeter-openmeter-url", openmeterUrl.toString(), "tokenmeter-openmeter-token", TOKEN), cache);
        Outcome outcome = runner.run(scenario);
        // whatever the check decided, any record it let through is a valid v2 record for the bridge
        outcome.eventHubMessages().forEach(UsageRecords::v2);
        return outcome;
    }

    static Scenario chat(String name) {
        var example = ReferenceExamples.azure("2024-10-21/examples/chat_completions.json");
        return PolicyHarnessTest.withToken(PolicyHarnessTest.azure(name, example, "chat/completions"));
    }

    static Reply value(boolean hasAccess, double balance, double usage) {
        return Reply.json(200, "{\"hasAccess\":" + hasAccess + ",\"balance\":" + (long) balance + ",\"usage\":" + (long) usage
                + ",\"overage\":0,\"totalAvailableGrantAmount\":" + (long) (balance + usage) + "}");
    }

    /** A metered entitlement as OpenMeter lists it for the subject, with the current usage period. */
    static String meteredEntitlement() {
        return """
                {"type":"metered","id":"01JE0000000000000000000E01","featureKey":"tokenmeter_tokens",
                 "featureId":"01JE0000000000000000000F01","subjectKey":"%s","createdAt":"2026-11-01T00:00:00Z",
                 "updatedAt":"2026-11-01T00:00:00Z","activeFrom":"2026-11-01T00:00:00Z","isSoftLimit":false,
                 "lastReset":"2026-11-01T00:00:00Z","measureUsageFrom":"2026-11-01T00:00:00Z",
                 "usagePeriod":{"interval":"MONTH","anchor":"2026-11-01T00:00:00Z"},
                 "currentUsagePeriod":{"from":"2026-11-01T00:00:00Z","to":"%s"}}""".formatted(OID, PERIOD_END);
    }

    /** A loopback port nobody listens on: bound to find a free one, then closed so connecting is refused. */
    static URI refusingUri() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return URI.create("http://127.0.0.1:" + socket.getLocalPort());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
