package dev.tokenmeter.policies.harness;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.policies.PolicySetDir;
import dev.tokenmeter.policies.set.PolicySet;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import dev.tokenmeter.usage.UsageRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.tokenmeter.policies.harness.PolicyHarnessTest.BASE;
import static dev.tokenmeter.policies.harness.PolicyHarnessTest.parse;
import static dev.tokenmeter.policies.harness.PolicyHarnessTest.withToken;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Request bodies in tokenmeter-stream-usage and response bodies in tokenmeter-usage-log, whatever the client and the
 * backend send: the client gets the backend's answer (never a gateway 500), the backend gets the client's body (only
 * stream_options added, where the api-version accepts it), and every request has a record the bridge accepts.
 */
class BodyHandlingTest {

    static final String CHAT = BASE + "/deployments/gpt-4o/chat/completions?api-version=2024-10-21";

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
        }
        if (fixture != null) {
            fixture.close();
        }
    }

    // ---------- request bodies (tokenmeter-stream-usage) ----------

    /**
     * 1.4.0: a body that cannot hold a top-level "stream" member is never parsed (tm-request-body stays empty) when the
     * deployment is in the path, so an 8 MiB prompt costs a text search instead of a JSON parse; it still reaches the
     * backend unchanged and is billed from the response.
     */
    @Test
    void aNonStreamedChatBodyIsNotParsed() {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"Say \\\"stream\\\": true, caf\\u00e9\"}],\"max_tokens\":5}";
        Outcome outcome = runner.run(withToken(Scenario.post("not-parsed", CHAT, body)
                .backend(new Scenario.Backend.Responds(200, "application/json",
                        "{\"id\":\"chatcmpl-np\",\"model\":\"gpt-4o\",\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15}}"))));
        assertThat(outcome.errors()).isEmpty();
        assertThat(outcome.variables().get("tm-request-body")).as("the parsed body").hasToString("{}");
        assertThat(outcome.variables().get("tm-request-stream").asBoolean()).isFalse();
        assertThat(outcome.variables().get("tm-deployment").asText()).isEqualTo("gpt-4o");
        assertThat(outcome.forwardedRequestBody()).isEqualTo(body);
        UsageRecord r = UsageRecords.v2(outcome.eventHubMessages().get(0));
        assertThat(r.promptTokens()).isEqualTo(12);
        assertThat(r.stream()).isFalse();
    }

    /** A "stream" member spelt with JSON escapes is still a stream: the text search cannot rule it out, so the body is parsed. */
    @Test
    void aStreamMemberSpeltWithEscapesIsStillFound() {
        for (String key : new String[] {"\\u0073tream", "strea\\u006d", "\\u0073\\u0074\\u0072\\u0065\\u0061\\u006D"}) {
            String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"" + key + "\" : true}";
            Outcome outcome = runner.run(withToken(Scenario.post("escaped-" + key, CHAT, body)
                    .backend(new Scenario.Backend.Responds(200, "text/event-stream", ReferenceExamples.recordedSseBody())).estimatedTokens(9)));
            assertThat(outcome.errors()).as(key).isEmpty();
            assertThat(outcome.variables().get("tm-request-stream").asBoolean()).as(key).isTrue();
            assertThat(outcome.variables().get("tm-include-usage").asText()).as(key).isEqualTo("injected");
            assertThat(parse(outcome.forwardedRequestBody()).path("stream_options").path("include_usage").asBoolean()).as(key).isTrue();
        }
    }

    @Test
    void malformedJsonGoesToTheBackendWhoseErrorTheClientGets() {
        String broken = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":tru";
        Outcome outcome = runner.run(withToken(Scenario.post("malformed", CHAT, broken)
                .backend(new Scenario.Backend.Responds(400, "application/json", "{\"error\":{\"code\":\"BadRequest\",\"message\":\"invalid JSON\"}}"))));
        assertThat(outcome.errors()).isEmpty();
        assertThat(outcome.status()).isEqualTo(400);
        assertThat(outcome.forwardedRequestBody()).isEqualTo(broken);
        UsageRecord r = UsageRecords.v2(outcome.eventHubMessages().get(0));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.usageSource()).isEqualTo("none");
    }

    @Test
    void aJsonPostWithoutABodyOrWithAnEmptyOneIsForwardedAsItIs() {
        // APIM: Body is null when the request has none; whether an empty body is null or "" is not documented: both
        for (String body : new String[] {null, ""}) {
            Outcome outcome = runner.run(withToken(Scenario.post("no-body-" + (body == null), CHAT, body)
                    .backend(new Scenario.Backend.Responds(400, "application/json", "{\"error\":{\"code\":\"BadRequest\"}}"))));
            assertThat(outcome.errors()).as(String.valueOf(body)).isEmpty();
            assertThat(outcome.status()).isEqualTo(400);
            assertThat(outcome.forwardedRequestBody()).isEqualTo(body);
            assertThat(outcome.eventHubMessages()).hasSize(1).allSatisfy(UsageRecords::v2);
        }
    }

    @Test
    void streamOptionsIsAddedWithoutRewritingAnythingElseOfTheClientsText() {
        // date-like strings, an offset, fractional seconds, odd spacing and key order: all reach the backend as sent
        String body = "{ \"messages\" : [ {\"role\":\"user\",\"content\":\"2024-03-10T12:00:00+05:00\"},"
                + " {\"role\":\"user\",\"content\":\"due 2025-01-01T00:00:00.000Z\", \"name\":\"2024-03-10T12:00:00Z\"} ],\n"
                + "  \"stream\" : true, \"temperature\": 1.0 }";
        Outcome outcome = runner.run(withToken(Scenario.post("dates", CHAT, body)
                .backend(new Scenario.Backend.Responds(200, "text/event-stream", ReferenceExamples.recordedSseBody()))));
        String expected = "{\"stream_options\":{\"include_usage\":true}," + body.substring(1);
        assertThat(outcome.forwardedRequestBody()).isEqualTo(expected);
        assertThat(UsageRecords.v2(outcome.eventHubMessages().get(0)).includeUsage()).isEqualTo("injected");
    }

    @Test
    void existingStreamOptionsAreRewrittenInPlace() {
        String body = "{\"stream\":true,\"stream_options\": {\"include_usage\": false, \"x\": [1, {\"y\": \"}\"}]} ,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"2024-03-10T12:00:00+05:00 \\\"stream_options\\\"\"}]}";
        Outcome outcome = runner.run(withToken(Scenario.post("in-place", CHAT, body)
                .backend(new Scenario.Backend.Responds(200, "text/event-stream", ReferenceExamples.recordedSseBody()))));
        assertThat(outcome.forwardedRequestBody()).isEqualTo("{\"stream\":true,\"stream_options\": {\"include_usage\":true,\"x\":[1,{\"y\":\"}\"}]} ,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"2024-03-10T12:00:00+05:00 \\\"stream_options\\\"\"}]}");
        ObjectNode null_ = (ObjectNode) parse("{\"stream\":true,\"stream_options\":null,\"messages\":[]}");
        Outcome nullOptions = runner.run(withToken(Scenario.post("null-options", CHAT, null_.toString())
                .backend(new Scenario.Backend.Responds(200, "text/event-stream", ReferenceExamples.recordedSseBody()))));
        assertThat(outcome.errors()).isEmpty();
        assertThat(nullOptions.forwardedRequestBody()).isEqualTo("{\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[]}");
    }

    @Test
    void aClientThatAskedForUsageKeepsItsBodyByteForByte() {
        String body = "{\"stream\":true, \"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"2024-03-10T12:00:00+05:00\"}]}";
        Outcome outcome = runner.run(withToken(Scenario.post("client-asked", CHAT, body)
                .backend(new Scenario.Backend.Responds(200, "text/event-stream", ReferenceExamples.recordedSseBody()))));
        assertThat(outcome.forwardedRequestBody()).isEqualTo(body);
        assertThat(UsageRecords.v2(outcome.eventHubMessages().get(0)).includeUsage()).isEqualTo("client");
    }

    @Test
    void streamOptionsAreNotSentToApiVersionsThatRefuseThem() {
        String body = "{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        for (String version : List.of("2024-06-01", "2024-07-01-preview", "2024-02-15-preview")) {
            Outcome outcome = runner.run(withToken(Scenario.post("old-" + version, BASE + "/deployments/gpt-4o/chat/completions?api-version=" + version, body)
                    .backend(new Scenario.Backend.Responds(200, "text/event-stream", ReferenceExamples.recordedSseBody()))));
            assertThat(outcome.forwardedRequestBody()).as(version).isEqualTo(body);
            UsageRecord r = UsageRecords.v2(outcome.eventHubMessages().get(0));
            assertThat(r.includeUsage()).as(version).isNull();
            assertThat(r.exactExpected()).as("nobody asked for usage: billed from the estimate").isFalse();
        }
        for (String version : List.of("2024-08-01-preview", "2024-10-21", "2025-04-01-preview")) {
            Outcome outcome = runner.run(withToken(Scenario.post("new-" + version, BASE + "/deployments/gpt-4o/chat/completions?api-version=" + version, body)
                    .backend(new Scenario.Backend.Responds(200, "text/event-stream", ReferenceExamples.recordedSseBody()))));
            assertThat(parse(outcome.forwardedRequestBody()).path("stream_options").path("include_usage").asBoolean()).as(version).isTrue();
        }
    }

    @Test
    void imageAndAudioBodiesAreNeverRead() {
        String big = "{\"prompt\":\"" + "a".repeat(1 << 20) + "\"";  // not even valid JSON: it must not matter
        Outcome outcome = runner.run(withToken(Scenario.post("image", BASE + "/deployments/dall-e-3/images/generations?api-version=2024-10-21", big)
                .backend(new Scenario.Backend.Responds(200, "application/json", "{\"created\":1,\"data\":[]}"))));
        assertThat(outcome.errors()).isEmpty();
        assertThat(outcome.status()).isEqualTo(200);
        assertThat(outcome.forwardedRequestBody()).isEqualTo(big);
    }

    // ---------- response bodies (tokenmeter-usage-log) ----------

    @Test
    void a200JsonBodyThatIsNotAnObjectStaysThe200TheBackendSent() {
        for (String body : List.of("", "[]", "\"ok\"", "not json", "null", "{\"usage\":\"lots\",\"model\":{\"a\":1},\"id\":7}")) {
            Outcome outcome = runner.run(withToken(PolicyHarnessTest.azureChat("not-object-" + body.hashCode())
                    .backend(new Scenario.Backend.Responds(200, "application/json", body))).estimatedTokens(12));
            assertThat(outcome.errors()).as(body).isEmpty();
            assertThat(outcome.status()).as(body).isEqualTo(200);
            assertThat(outcome.responseBody()).as(body).isEqualTo(body);
            UsageRecord r = UsageRecords.v2(outcome.eventHubMessages().get(0));
            // no counts in the answer: the token-limit estimate is billed rather than nothing
            assertThat(r.usageSource()).as(body).isEqualTo("estimated");
            assertThat(r.totalTokens()).as(body).isEqualTo(12);
            assertThat(r.model()).isNull();
        }
    }

    @Test
    void aUsageObjectWithoutTokenCountsIsNotReportedAsZero() {
        Outcome outcome = runner.run(withToken(PolicyHarnessTest.azureChat("empty-usage")
                .backend(new Scenario.Backend.Responds(200, "application/json", "{\"id\":\"chatcmpl-1\",\"usage\":{}}"))).estimatedTokens(9));
        UsageRecord r = UsageRecords.v2(outcome.eventHubMessages().get(0));
        assertThat(r.usageSource()).isEqualTo("estimated");
        assertThat(r.totalTokens()).isEqualTo(9);
        // counts that are not whole non-negative numbers are absent too; huge ones are capped to what the contract holds
        Outcome odd = runner.run(withToken(PolicyHarnessTest.azureChat("odd-usage")
                .backend(new Scenario.Backend.Responds(200, "application/json",
                        "{\"usage\":{\"prompt_tokens\":-3,\"completion_tokens\":\"12\",\"total_tokens\":99999999999}}"))));
        UsageRecord o = UsageRecords.v2(odd.eventHubMessages().get(0));
        assertThat(o.usageSource()).isEqualTo("reported");
        assertThat(o.promptTokens()).isZero();
        assertThat(o.completionTokens()).isZero();
        assertThat(o.totalTokens()).isEqualTo(1_000_000_000L);
    }

    @Test
    void aStreamedRequestAnsweredWithAJsonErrorIsNotRecordedAsStreamed() {
        Outcome outcome = runner.run(withToken(PolicyHarnessTest.streamedChat("json-error")
                .backend(new Scenario.Backend.Responds(429, "application/json", "{\"error\":{\"code\":\"429\"}}"))));
        UsageRecord r = UsageRecords.v2(outcome.eventHubMessages().get(0));
        assertThat(r.status()).isEqualTo(429);
        assertThat(r.stream()).as("the response was JSON, not an event stream").isFalse();
    }

    @Test
    void theTokenLimitEstimateIsReadWhetherApimStoresItAsIntOrLong() {
        for (Scenario.ConsumedAs type : Scenario.ConsumedAs.values()) {
            Outcome outcome = runner.run(withToken(PolicyHarnessTest.streamedChat("consumed-" + type).estimatedTokens(21).consumedAs(type)));
            assertThat(outcome.errors()).as(type.name()).isEmpty();
            UsageRecord r = UsageRecords.v2(outcome.eventHubMessages().get(0));
            assertThat(r.usageSource()).isEqualTo("estimated");
            assertThat(r.promptTokens()).as(type.name()).isEqualTo(21);
        }
    }

    @Test
    void aModelNameTooLongForTheContractIsCutNotLeftToBreakTheRecord() {
        String model = "m".repeat(300);
        Outcome outcome = runner.run(withToken(Scenario.post("long-model", BASE + "/v1/chat/completions",
                        "{\"model\":\"" + model + "\",\"messages\":[]}")
                .backend(new Scenario.Backend.Responds(200, "application/json", "{\"model\":\"" + model + "\",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}"))));
        UsageRecord r = UsageRecords.v2(outcome.eventHubMessages().get(0));
        assertThat(r.deployment()).hasSize(256);
        assertThat(r.model()).hasSize(256);
        assertThat(r.totalTokens()).isEqualTo(3);
    }
}
