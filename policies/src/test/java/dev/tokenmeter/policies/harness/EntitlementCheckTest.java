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

    /** getCustomerEntitlementValueV2: the customer is keyed by the user id ('tokenmeter limits set' creates it). */
    static final String VALUE_PATH = "/api/v2/customers/" + OID + "/entitlements/tokenmeter_tokens/value";
    /** getCustomerEntitlementV2: the one entitlement, for its current usage period. */
    static final String ENTITLEMENT_PATH = "/api/v2/customers/" + OID + "/entitlements/tokenmeter_tokens";
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
        openmeter.route("GET", ENTITLEMENT_PATH, r -> Reply.json(200, meteredEntitlement()));
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
        assertThat(openmeter.requests()).extracting(OpenMeterContractServer.Received::path).containsExactly(VALUE_PATH, ENTITLEMENT_PATH);
        assertThat(openmeter.requests()).allSatisfy(r -> assertThat(r.header("Authorization")).isEqualTo("Bearer " + TOKEN));
    }

    @Test
    void deniedWithoutAKnownResetRetriesAfterTheCacheTime() {
        openmeter.route("GET", VALUE_PATH, r -> value(false, 0, 500));
        openmeter.route("GET", ENTITLEMENT_PATH, r -> Reply.problem(500, "internal error"));
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
        openmeter.route("GET", ENTITLEMENT_PATH, r -> Reply.json(200, meteredEntitlement()));
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
        openmeter.route("GET", ENTITLEMENT_PATH, r -> Reply.problem(404, "entitlement not found"));
        Outcome third = run(chat("expiry-3"), openmeter.baseUri());
        assertThat(third.status()).isEqualTo(429);
        assertThat(openmeter.requests()).extracting(OpenMeterContractServer.Received::path)
                .containsExactly(VALUE_PATH, VALUE_PATH, ENTITLEMENT_PATH);
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
        assertThat(cache.lookup("tokenmeter-entitlement:tokenmeter_tokens:" + OID)).as("an outage is not a verdict to cache").isEmpty();
        assertThat(cache.stores()).as("only the back-off").isEqualTo(1);
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
        assertThat(cache.lookup("tokenmeter-entitlement:tokenmeter_tokens:" + OID)).isEmpty();
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
    void serverErrorsApplyTheFailModeAndBackOffForFiveSeconds() {
        openmeter.route("GET", VALUE_PATH, r -> Reply.problem(503, "maintenance"));
        Outcome open = run(chat("5xx-open"), openmeter.baseUri());
        assertThat(open.status()).isEqualTo(200);
        assertThat(open.responseHeaders()).containsEntry("x-tokenmeter-entitlement", List.of("fail-open"));
        // another request, even of another user, during the back-off: the fail mode without asking
        Outcome closed = run(chat("5xx-closed").namedValue("tokenmeter-entitlement-fail-mode", "closed"), openmeter.baseUri());
        assertThat(closed.status()).isEqualTo(503);
        assertThat(parse(closed.responseBody()).path("error").path("message").asText()).contains("OpenMeter answered 503");
        assertThat(closed.sendRequests()).isEmpty();
        Outcome otherUser = run(chatAs("5xx-other", "0b7c6f1e-0000-4000-8000-00000000b0b0"), openmeter.baseUri());
        assertThat(otherUser.responseHeaders()).containsEntry("x-tokenmeter-entitlement", List.of("fail-open"));
        assertThat(otherUser.sendRequests()).isEmpty();
        assertThat(openmeter.requests()).as("asked once").hasSize(1);
        cache.advance(Duration.ofSeconds(5));
        openmeter.route("GET", VALUE_PATH, r -> value(true, 900, 100));
        Outcome after = run(chat("5xx-after"), openmeter.baseUri());
        assertThat(after.responseHeaders()).containsEntry("x-tokenmeter-entitlement", List.of("allowed"));
        assertThat(openmeter.requests()).as("asked again once the back-off ended").hasSize(2);
    }

    @Test
    void openMeter429IsHonouredForEveryUserUpToTheCacheTime() {
        openmeter.route("GET", VALUE_PATH, r -> rateLimited("20"));
        Outcome first = run(chat("429-1"), openmeter.baseUri());
        assertThat(first.responseHeaders()).containsEntry("x-tokenmeter-entitlement", List.of("fail-open"));
        cache.advance(Duration.ofSeconds(19));
        assertThat(run(chat("429-2"), openmeter.baseUri()).sendRequests()).as("19 s: still backing off").isEmpty();
        cache.advance(Duration.ofSeconds(1));
        openmeter.route("GET", VALUE_PATH, r -> value(true, 900, 100));
        assertThat(run(chat("429-3"), openmeter.baseUri()).sendRequests()).hasSize(1);
        // a Retry-After longer than the cache time is capped at it
        cache = new ApimCache();
        openmeter.route("GET", VALUE_PATH, r -> rateLimited("3600"));
        run(chat("429-long").namedValue("tokenmeter-entitlement-cache-seconds", "30"), openmeter.baseUri());
        cache.advance(Duration.ofSeconds(30));
        openmeter.route("GET", VALUE_PATH, r -> value(true, 900, 100));
        assertThat(run(chat("429-long-2").namedValue("tokenmeter-entitlement-cache-seconds", "30"), openmeter.baseUri()).sendRequests()).hasSize(1);
    }

    // ---------- OpenMeter answering 200 with something that is not an entitlement value ----------

    @Test
    void a200ThatIsNotAValueObjectAppliesTheFailModeInsteadOfA500() {
        for (String body : List.of("", "<html>proxy login</html>", "[]", "\"yes\"", "null", "{\"hasAccess\":\"false\"}", "{\"hasAccess\":null}", "{\"balance\":1}")) {
            for (String mode : List.of("open", "closed")) {
                cache = new ApimCache();
                openmeter.route("GET", VALUE_PATH, r -> new Reply(200, Map.of("Content-Type", "application/json"), body));
                Outcome outcome = run(chat("not-a-value-" + mode + body.hashCode()).namedValue("tokenmeter-entitlement-fail-mode", mode), openmeter.baseUri());
                assertThat(outcome.errors()).as(body).isEmpty();
                assertThat(outcome.status()).as(body).isEqualTo(mode.equals("open") ? 200 : 503);
                assertThat(outcome.responseHeaders()).as(body).containsEntry("x-tokenmeter-entitlement", List.of("fail-" + mode));
                assertThat(cache.stores()).as("not cached as a verdict, only the back-off").isEqualTo(1);
                assertThat(cache.lookup("tokenmeter-entitlement:tokenmeter_tokens:" + OID)).isEmpty();
            }
        }
    }

    @Test
    void aDenialWhosePeriodLookupAnswersGarbageIsStillA429() {
        openmeter.route("GET", VALUE_PATH, r -> value(false, 0, 1_000_000));
        for (String body : List.of("", "<html/>", "[1]", "{\"currentUsagePeriod\":{\"to\":\"soon\"}}")) {
            cache = new ApimCache();
            openmeter.route("GET", ENTITLEMENT_PATH, r -> new Reply(200, Map.of("Content-Type", "application/json"), body));
            Outcome outcome = run(chat("period-garbage" + body.hashCode()), openmeter.baseUri());
            assertThat(outcome.errors()).as(body).isEmpty();
            assertThat(outcome.status()).as(body).isEqualTo(429);
            assertThat(outcome.responseHeaders()).as(body).containsEntry("Retry-After", List.of("60"));
        }
    }

    // ---------- the timeout bounds the whole check ----------

    @Test
    void aDenialNeverWaitsLongerThanTheTimeout() {
        // the value answers after 300 ms; the period lookup would never answer
        openmeter.route("GET", VALUE_PATH, r -> {
            Thread.sleep(300);
            return value(false, 0, 1_000_000);
        });
        openmeter.route("GET", ENTITLEMENT_PATH, r -> {
            testOver.await(30, TimeUnit.SECONDS);
            return Reply.json(200, meteredEntitlement());
        });
        long started = System.nanoTime();
        Outcome outcome = run(chat("denial-budget").namedValue("tokenmeter-entitlement-timeout", "1"), openmeter.baseUri());
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        assertThat(outcome.status()).isEqualTo(429);
        assertThat(outcome.sendRequests()).as("no time left for the period lookup").hasSize(1);
        assertThat(took).as("within the 1 s timeout plus a margin for running the policy").isLessThan(Duration.ofMillis(1500));

        cache = new ApimCache();
        started = System.nanoTime();
        outcome = run(chat("denial-budget-2").namedValue("tokenmeter-entitlement-timeout", "2"), openmeter.baseUri());
        took = Duration.ofNanos(System.nanoTime() - started);
        assertThat(outcome.status()).isEqualTo(429);
        assertThat(outcome.sendRequests()).extracting(PolicyRunner.Sent::failure).containsExactly(null, "Timeout");
        assertThat(took).as("300 ms, then the 1 s left of the 2 s timeout").isLessThan(Duration.ofMillis(2500));
        assertThat(outcome.responseHeaders()).containsEntry("Retry-After", List.of("60"));
    }

    // ---------- user ids in the URL ----------

    @Test
    void theUrlOfAnyUserIdTheIdentityFragmentAcceptsStaysOnTheCustomersRoute() {
        openmeter.route("GET", "/api/v2/customers/[^/]+/entitlements/tokenmeter_tokens/value", r -> value(true, 900, 100));
        for (String user : List.of("...", "a/../b", "%2e%2e", "alice@contoso.example", "tenant:42/../x", "ü-ñ")) {
            cache = new ApimCache();
            Outcome outcome = run(chatAs("url-" + user.hashCode(), user), openmeter.baseUri());
            assertThat(outcome.status()).as(user).isEqualTo(200);
            assertThat(outcome.responseHeaders()).as(user).containsEntry("x-tokenmeter-entitlement", List.of("allowed"));
        }
        assertThat(openmeter.requests()).hasSize(6).allSatisfy(r -> assertThat(r.path()).matches("/api/v2/customers/[^/]+/entitlements/tokenmeter_tokens/value"));
    }

    /**
     * Behind another identity fragment that lets "." or ".." through, .NET's Uri would drop the segment and ask
     * OpenMeter about another route (whose 404 would then read as "no entitlement": allowed). The check refuses to
     * ask and fails closed whatever the fail mode.
     */
    @Test
    void aDotSegmentUserIsNeverAskedAboutAndNeverFailsOpen(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        PolicySetDir.copyTo(dir);
        PolicySetDir.edit(dir, "fragments/tokenmeter-identity.xml", "\t<set-variable name=\"tm-user-source\"",
                "\t<set-variable name=\"tm-user-id\" value=\"..\" />\n\t<set-variable name=\"tm-user-source\"");
        openmeter.route("GET", "/api/v2/customers/.*", r -> Reply.problem(404, "not found"));
        try (HarnessFixture dots = new HarnessFixture(PolicySet.load(dir))) {
            PolicyRunner runner = new PolicyRunner(dots.set, PolicyHarnessTest.API, dots.host,
                    Map.of("tokenmeter-openmeter-url", openmeter.baseUri().toString(), "tokenmeter-openmeter-token", TOKEN), cache);
            Outcome outcome = runner.run(chat("dot-user"));
            assertThat(outcome.status()).isEqualTo(503);
            assertThat(outcome.responseHeaders()).containsEntry("x-tokenmeter-entitlement", List.of("fail-closed"));
            assertThat(outcome.sendRequests()).isEmpty();
            assertThat(outcome.reachedBackend()).isFalse();
        }
        assertThat(openmeter.requests()).isEmpty();
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

    /** A chat request whose token names the given user (oid). */
    static Scenario chatAs(String name, String user) {
        var example = ReferenceExamples.azure("2024-10-21/examples/chat_completions.json");
        Map<String, List<String>> claims = Map.of("oid", List.of(user), "appid", List.of("cli-app"));
        return PolicyHarnessTest.azure(name, example, "chat/completions").token(new Scenario.Token.Valid(claims), PolicyHarnessTest.jwt(claims));
    }

    static Scenario chat(String name) {
        var example = ReferenceExamples.azure("2024-10-21/examples/chat_completions.json");
        return PolicyHarnessTest.withToken(PolicyHarnessTest.azure(name, example, "chat/completions"));
    }

    static Reply value(boolean hasAccess, double balance, double usage) {
        return Reply.json(200, "{\"hasAccess\":" + hasAccess + ",\"balance\":" + (long) balance + ",\"usage\":" + (long) usage
                + ",\"overage\":0,\"totalAvailableGrantAmount\":" + (long) (balance + usage) + "}");
    }

    /** OpenMeter's rate limit, with how long to wait. */
    static Reply rateLimited(String retryAfter) {
        return new Reply(429, Map.of("Content-Type", "application/problem+json", "Retry-After", retryAfter),
                "{\"type\":\"about:blank\",\"title\":\"Too Many Requests\",\"status\":429,\"detail\":\"rate limited\"}");
    }

    /** A metered entitlement as OpenMeter lists it for the subject, with the current usage period. */
    static String meteredEntitlement() {
        return """
                {"type":"metered","id":"01JE0000000000000000000E01","featureKey":"tokenmeter_tokens",
                 "featureId":"01JE0000000000000000000F01","customerId":"01JE0000000000000000000C01","createdAt":"2026-11-01T00:00:00Z",
                 "updatedAt":"2026-11-01T00:00:00Z","activeFrom":"2026-11-01T00:00:00Z","isSoftLimit":false,
                 "lastReset":"2026-11-01T00:00:00Z","measureUsageFrom":"2026-11-01T00:00:00Z",
                 "usagePeriod":{"interval":"MONTH","anchor":"2026-11-01T00:00:00Z"},
                 "currentUsagePeriod":{"from":"2026-11-01T00:00:00Z","to":"%s"}}""".formatted(PERIOD_END);
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
