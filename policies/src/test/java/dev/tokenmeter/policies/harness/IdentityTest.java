package dev.tokenmeter.policies.harness;

import dev.tokenmeter.policies.PolicySetDir;
import dev.tokenmeter.policies.set.PolicySet;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import dev.tokenmeter.usage.UsageRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.tokenmeter.policies.harness.PolicyHarnessTest.OID;
import static dev.tokenmeter.policies.harness.PolicyHarnessTest.parse;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * tokenmeter-identity's rule for user ids (normalised, 1 to 256 characters, no control, format, white space or ',',
 * not a dot segment, one value) and its configuration (source names, the "none" sentinel, the claim): whatever a
 * caller or a configuration does, a request either gets a 4xx or 5xx naming the problem, or a valid record for
 * exactly the user it names.
 */
class IdentityTest {

    static HarnessFixture fixture;
    static OpenMeterContractServer openmeter;
    static PolicyRunner runner;

    @BeforeAll
    static void start() {
        fixture = new HarnessFixture(PolicySet.load(PolicySetDir.shipped()));
        openmeter = HarnessFixture.grantingOpenMeter();
        runner = fixture.runner(openmeter.baseUri());
    }

    @AfterAll
    static void stop() {
        if (openmeter != null) {
            openmeter.close();
            assertThat(openmeter.violations()).as("requests OpenMeter would refuse").isEmpty();
        }
        if (fixture != null) {
            fixture.close();
        }
    }

    // ---------- the user id rule ----------

    @Test
    void aUserIdOfAtMost256CharactersIsBilledAndALongerOneIsA400() {
        String longest = "u".repeat(256);
        UsageRecord ok = record(runner.run(trusted("id-256", longest)));
        assertThat(ok.userId()).isEqualTo(longest);
        Outcome tooLong = runner.run(trusted("id-257", longest + "u"));
        assertRefused(tooLong, 400, "InvalidUserId", "longer than 256");
        // a long claim of a validated token too
        Outcome claim = runner.run(tokenWithOid("claim-300", "o".repeat(300)));
        assertRefused(claim, 400, "InvalidUserId", "token_claim");
    }

    @Test
    void controlFormatAndWhiteSpaceCharactersAreA400() {
        for (String id : List.of("ali\u0000ce", "ali\u200Bce", "ali\uFEFFce", "ali ce", "ali\tce", "ali\u2028ce", "ali\u001Bce", "ali\u00A0ce")) {
            Outcome outcome = runner.run(trusted("bad-char-" + id.hashCode(), id));
            assertRefused(outcome, 400, "InvalidUserId", "U+");
            assertThat(outcome.counterKeys()).as("never a counter key").isEmpty();
            assertThat(outcome.metrics()).as("never a metric dimension").isEmpty();
        }
    }

    @Test
    void surroundingWhiteSpaceIsTrimmedAndUnicodeIsComposed() {
        // "é" as e + combining acute (NFD) and as one character (NFC) are one user
        UsageRecord decomposed = record(runner.run(trusted("nfd", "  jose\u0301@contoso.example ")));
        UsageRecord composed = record(runner.run(trusted("nfc", "jos\u00E9@contoso.example")));
        assertThat(decomposed.userId()).isEqualTo("jos\u00E9@contoso.example").isEqualTo(composed.userId());
        assertThat(record(runner.run(trusted("emoji", "team-\uD83D\uDE80"))).userId()).isEqualTo("team-\uD83D\uDE80");
    }

    @Test
    void dotSegmentsAreA400BeforeAnyOpenMeterLookup() {
        for (String id : List.of(".", "..")) {
            Outcome outcome = runner.run(trusted("dots-" + id.length(), id));
            assertRefused(outcome, 400, "InvalidUserId", "dot segment");
            assertThat(outcome.sendRequests()).isEmpty();
        }
    }

    @Test
    void twoUserHeadersAreA400HoweverApimPresentsThem() {
        // as two values of the header
        Outcome two = runner.run(trusted("two-headers", "alice").headerValues("x-user-id", List.of("alice", "bob")));
        assertRefused(two, 400, "UserHeaderAmbiguous", "exactly one user");
        // as one comma-joined value
        Outcome joined = runner.run(trusted("joined-header", "alice,bob"));
        assertRefused(joined, 400, "UserHeaderAmbiguous", "exactly one user");
    }

    // ---------- configuration ----------

    @Test
    void aTrustedCallersHeaderIsReachedWithTheDefaultSourceOrder() {
        // a trusted product's subscription: the subscription source must not win over the header it sends
        UsageRecord r = record(runner.run(trusted("default-order", "alice@contoso.example")));
        assertThat(r.userId()).isEqualTo("alice@contoso.example");
        assertThat(r.userSource()).isEqualTo("trusted_header");
        // without the header, the trusted caller's own subscription
        UsageRecord own = record(runner.run(PolicyHarnessTest.azureChat("no-header").subscription("sub-backend", "internal-apps")
                .namedValue("tokenmeter-trusted-products", "internal-apps")));
        assertThat(own.userId()).isEqualTo("sub-backend");
        assertThat(own.userSource()).isEqualTo("subscription");
    }

    @Test
    void theNoneSentinelNeverTrustsAProductOrAppCalledNone() {
        Outcome product = runner.run(PolicyHarnessTest.azureChat("product-none").subscription("sub-1", "none").header("x-user-id", "victim"));
        assertThat(record(product).userId()).isEqualTo("sub-1");
        Map<String, List<String>> claims = Map.of("oid", List.of(OID), "appid", List.of("none"));
        Outcome app = runner.run(PolicyHarnessTest.azureChat("app-none").token(new Scenario.Token.Valid(claims), PolicyHarnessTest.jwt(claims))
                .header("x-user-id", "victim"));
        assertThat(record(app).userId()).isEqualTo(OID);
    }

    @Test
    void sourceNamesIgnoreCaseAndAnUnknownNameFailsLoudly() {
        UsageRecord r = record(runner.run(PolicyHarnessTest.withToken(PolicyHarnessTest.azureChat("case"))
                .subscription("sub-1", null).namedValue("tokenmeter-identity-sources", " Token_Claim , SUBSCRIPTION")));
        assertThat(r.userId()).isEqualTo(OID);
        assertThat(r.userSource()).isEqualTo("token_claim");
        Outcome typo = runner.run(PolicyHarnessTest.withToken(PolicyHarnessTest.azureChat("typo"))
                .subscription("sub-1", null).namedValue("tokenmeter-identity-sources", "tokenclaim,subscription"));
        assertRefused(typo, 500, "IdentityMisconfigured", "'tokenclaim'");
        assertThat(typo.reachedBackend()).isFalse();
    }

    @Test
    void aValidTokenWithoutTheConfiguredClaimIsA401NamingItNotTheSubscriptionsUsage() {
        Outcome outcome = runner.run(PolicyHarnessTest.withToken(PolicyHarnessTest.azureChat("wrong-claim"))
                .subscription("sub-1", null).namedValue("tokenmeter-user-claim", "upn"));
        assertRefused(outcome, 401, "UserClaimMissing", "'upn'");
    }

    // ---------- helpers ----------

    /** A chat request from a subscription of a trusted product naming the user in x-user-id. */
    static Scenario trusted(String name, String user) {
        return PolicyHarnessTest.azureChat(name).subscription("sub-backend", "internal-apps")
                .namedValue("tokenmeter-trusted-products", "internal-apps").header("x-user-id", user);
    }

    static Scenario tokenWithOid(String name, String oid) {
        Map<String, List<String>> claims = Map.of("oid", List.of(oid));
        return PolicyHarnessTest.azureChat(name).token(new Scenario.Token.Valid(claims), PolicyHarnessTest.jwt(claims));
    }

    static UsageRecord record(Outcome outcome) {
        assertThat(outcome.errors()).as("policy errors").isEmpty();
        assertThat(outcome.status()).isEqualTo(200);
        assertThat(outcome.eventHubMessages()).hasSize(1);
        UsageRecord r = UsageRecords.v2(outcome.eventHubMessages().get(0));
        assertThat(outcome.counterKeys()).containsExactly(r.userId());
        return r;
    }

    static void assertRefused(Outcome outcome, int status, String code, String messagePart) {
        assertThat(outcome.errors()).as("a refusal, not a policy error").isEmpty();
        assertThat(outcome.status()).isEqualTo(status);
        assertThat(outcome.reachedBackend()).isFalse();
        assertThat(outcome.eventHubMessages()).as("nothing to bill").isEmpty();
        var error = parse(outcome.responseBody()).path("error");
        assertThat(error.path("code").asText()).isEqualTo(code);
        assertThat(error.path("message").asText()).contains(messagePart);
    }
}
