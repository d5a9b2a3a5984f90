package dev.tokenmeter.policies.harness;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.policies.PolicySetDir;
import dev.tokenmeter.policies.set.PolicySet;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import dev.tokenmeter.usage.UsageRecord;
import dev.tokenmeter.usage.UsageRecordParser;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The shipped policy set run by the harness against the documented Azure OpenAI examples, with every C#
 * expression compiled by mcs and executed by mono. Each scenario checks the usage record the way the bridge will:
 * valid against contract v2, accepted by {@link UsageRecordParser} as a v2 record, exact usage, right user, and
 * whether the bridge should wait for APIM's LLM log (exact_expected) and why (include_usage).
 */
class PolicyHarnessTest {

    static final String API = "apis/azure-openai.xml";
    static final String BASE = "https://contoso-apim.azure-api.net/openai";
    static final String OID = "3f2b8c1e-7d6a-4e21-9b0f-5a4c3d2e1f01";
    static final ObjectMapper JSON = new ObjectMapper();

    static HarnessFixture fixture;
    static PolicyRunner runner;
    /** The entitlement check in the example policy asks OpenMeter on every (uncached) request: here it always allows. */
    static OpenMeterContractServer openmeter;

    @BeforeAll
    static void start() {
        fixture = new HarnessFixture(PolicySet.load(PolicySetDir.shipped()));
        openmeter = HarnessFixture.grantingOpenMeter("{\"hasAccess\":true,\"balance\":999000,\"usage\":1000,\"overage\":0}");
        runner = fixture.runner(openmeter.baseUri());
        assertThat(fixture.typeViolations()).as("types APIM does not allow in expressions").isEmpty();
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

    // ---------- usage from the documented examples ----------

    @Test
    void chatCompletionsReportsTheExampleUsage() {
        var example = ReferenceExamples.azure("2024-10-21/examples/chat_completions.json");
        Outcome outcome = runner.run(withToken(azure("chat", example, "chat/completions")));
        UsageRecord r = onlyRecord(outcome);
        assertUsage(r, example, 33, 557, 590);
        assertThat(r.operationKind()).isEqualTo("chat");
        assertThat(r.usageSource()).isEqualTo("reported");
        assertThat(r.stream()).isFalse();
        assertThat(r.apiVersion()).isEqualTo("2024-10-21");
        assertThat(r.deployment()).isEqualTo("gpt-4o-prod");
        assertThat(r.userId()).isEqualTo(OID);
        assertThat(r.userSource()).isEqualTo("token_claim");
        assertThat(r.status()).isEqualTo(200);
        assertThat(outcome.status()).isEqualTo(200);
        assertThat(outcome.counterKeys()).containsExactly(OID);
        assertThat(outcome.metrics()).singleElement().satisfies(m -> {
            assertThat(m.policy()).isEqualTo("azure-openai-emit-token-metric");
            assertThat(m.namespace()).isEqualTo("tokenmeter");
            assertThat(m.dimensions()).hasSizeLessThanOrEqualTo(5)
                    .containsEntry("User", OID).containsEntry("API ID", "azure-openai").containsEntry("Deployment", "gpt-4o-prod");
        });
        assertThat(outcome.responseHeaders()).containsEntry("x-tokenmeter-remaining-tokens", List.of("10000"))
                .containsEntry("x-tokenmeter-entitlement", List.of("allowed"));
        // billed from its own usage: nothing to wait for, and the model's response id is carried for the bridge
        assertThat(r.exactExpected()).isFalse();
        assertThat(r.includeUsage()).isNull();
        assertThat(example.response().path("id").asText()).as(example.path()).isEqualTo("chatcmpl-7R1nGnsXO8n4oi9UPz2f3UHdgAYMn");
        assertThat(r.backendRequestId()).isEqualTo(example.response().path("id").asText());
        // the JSON response was read with preserveContent, the backend got the request body untouched
        assertThat(outcome.responseBodyReads()).isEqualTo(1);
        assertThat(parse(outcome.forwardedRequestBody())).isEqualTo(example.request());
    }

    @Test
    void completionsReportsTheExampleUsage() {
        var example = ReferenceExamples.azure("2024-10-21/examples/completions.json");
        UsageRecord r = onlyRecord(runner.run(withToken(azure("completions", example, "completions"))));
        assertUsage(r, example, 6, 20, 26);
        assertThat(r.operationKind()).isEqualTo("completions");
        assertThat(r.backendRequestId()).startsWith("cmpl-").isEqualTo(example.response().path("id").asText());
        assertThat(r.exactExpected()).isFalse();
    }

    @Test
    void embeddingsHaveNoCompletionTokens() {
        var example = ReferenceExamples.azure("2024-10-21/examples/embeddings.json");
        UsageRecord r = onlyRecord(runner.run(withToken(azure("embeddings", example, "embeddings"))));
        assertUsage(r, example, 4, 0, 4);
        assertThat(r.operationKind()).isEqualTo("embeddings");
        assertThat(example.response().has("id")).as("an embeddings answer has no response id").isFalse();
        assertThat(r.backendRequestId()).isNull();
        assertThat(r.exactExpected()).isFalse();
        assertThat(r.deployment()).isEqualTo("deployment-afa0669ca01e4693ae3a93baf40f26d6");
    }

    @Test
    void responsesApiInputAndOutputTokensWithDetails() {
        var example = ReferenceExamples.azure("2025-04-01-preview/examples/responses.json");
        Scenario s = Scenario.post("responses", BASE + "/responses?api-version=" + example.apiVersion(), ReferenceExamples.json(example.request()))
                .backend(new Scenario.Backend.Responds(200, "application/json", ReferenceExamples.json(example.response())));
        UsageRecord r = onlyRecord(runner.run(withToken(s)));
        assertThat(example.usage().path("input_tokens").asLong()).isEqualTo(34);
        assertThat(r.promptTokens()).isEqualTo(34);
        assertThat(r.completionTokens()).isEqualTo(9);
        assertThat(r.totalTokens()).isEqualTo(43);
        assertThat(r.cachedTokens()).isZero();
        assertThat(r.reasoningTokens()).isZero();
        assertThat(r.operationKind()).isEqualTo("responses");
        assertThat(r.deployment()).isEqualTo("{model_name}");
        assertThat(r.model()).isEqualTo("{model_name}");
        assertThat(r.backendRequestId()).startsWith("resp_").isEqualTo(example.response().path("id").asText());
        assertThat(r.exactExpected()).isFalse();
        assertThat(r.includeUsage()).isNull();
    }

    @Test
    void chatUsageDetailsBecomeCachedAndReasoningTokens() {
        var example = ReferenceExamples.openai("openai-platform/chat-completions.examples.from-openai-openapi.json", "Default");
        Scenario s = Scenario.post("chat-v1", BASE + "/v1/chat/completions", ReferenceExamples.json(example.request()))
                .backend(new Scenario.Backend.Responds(200, "application/json; charset=utf-8", ReferenceExamples.json(example.response())));
        UsageRecord r = onlyRecord(runner.run(withToken(s)));
        assertUsage(r, example, 19, 10, 29);
        assertThat(r.model()).isEqualTo("gpt-5.4");
        assertThat(r.deployment()).isEqualTo("VAR_chat_model_id");
        assertThat(r.apiVersion()).isNull();
        // the fields were present (0), so the record carries them
        assertThat(parse(onlyMessage(runner.run(withToken(s))).body()).has("cached_tokens")).isTrue();
    }

    // ---------- streaming ----------

    @Test
    void streamedChatIsEstimatedAndItsBodyNeverRead() {
        var recorded = ReferenceExamples.recordedAzureStream();
        ObjectNode request = recorded.request().deepCopy();
        request.remove("stream_options");
        int estimate = recorded.usage().path("prompt_tokens").asInt();
        Scenario s = Scenario.post("stream", BASE + "/deployments/gpt-4o/chat/completions?api-version=2024-10-21", ReferenceExamples.json(request))
                .backend(new Scenario.Backend.Responds(200, "text/event-stream", ReferenceExamples.recordedSseBody()))
                .estimatedTokens(estimate);
        Outcome outcome = runner.run(withToken(s));
        UsageRecord r = onlyRecord(outcome);
        assertThat(outcome.responseBodyReads()).as("a streamed body must never be read (it would be buffered)").isZero();
        assertThat(outcome.streamBuffered()).as("forward-request buffer-response=\"false\": the client gets tokens as they come").isFalse();
        assertThat(r.stream()).isTrue();
        assertThat(r.usageSource()).isEqualTo("estimated");
        assertThat(r.promptTokens()).isEqualTo(14);
        assertThat(r.completionTokens()).isZero();
        assertThat(r.totalTokens()).isEqualTo(14);
        assertThat(r.model()).isNull();
        assertThat(r.backendRequestId()).as("the stream's ids are in the body the policies never read").isNull();
        // nobody asked for usage, the fragment did: the LLM log will carry the exact counts, so the bridge waits
        assertThat(r.includeUsage()).isEqualTo("injected");
        assertThat(r.exactExpected()).isTrue();
        assertThat(r.gatewayId()).isEqualTo("managed");
        // the request gained stream_options.include_usage=true and nothing else changed
        JsonNode forwarded = parse(outcome.forwardedRequestBody());
        assertThat(forwarded.path("stream_options").path("include_usage").asBoolean()).isTrue();
        ((ObjectNode) forwarded).remove("stream_options");
        assertThat(forwarded).isEqualTo(parse(s.body()));
    }

    @Test
    void streamOptionsSetToFalseBecomeTrueAndOtherOptionsStay() {
        ObjectNode request = ReferenceExamples.recordedAzureStream().request().deepCopy();
        ((ObjectNode) request.path("stream_options")).put("include_usage", false).put("include_obfuscation", true);
        Scenario s = Scenario.post("stream-false", BASE + "/deployments/gpt-4o/chat/completions?api-version=2024-10-21", ReferenceExamples.json(request))
                .backend(new Scenario.Backend.Responds(200, "text/event-stream", ReferenceExamples.recordedSseBody()));
        Outcome outcome = runner.run(withToken(s));
        JsonNode forwarded = parse(outcome.forwardedRequestBody());
        assertThat(forwarded.path("stream_options")).isEqualTo(JSON.createObjectNode().put("include_usage", true).put("include_obfuscation", true));
        // the client said false: usage is in the stream because the fragment put it there
        UsageRecord r = onlyRecord(outcome);
        assertThat(r.includeUsage()).isEqualTo("injected");
        assertThat(r.exactExpected()).isTrue();
    }

    @Test
    void streamedChatWhoseClientAskedForUsageIsExactExpectedFromTheClient() {
        var recorded = ReferenceExamples.recordedAzureStream();
        assertThat(recorded.request().path("stream_options").path("include_usage").asBoolean()).as(recorded.path()).isTrue();
        Scenario s = Scenario.post("stream-client-usage", BASE + "/v1/chat/completions", ReferenceExamples.json(recorded.request()))
                .backend(new Scenario.Backend.Responds(200, "text/event-stream", ReferenceExamples.recordedSseBody()))
                .estimatedTokens(14);
        Outcome outcome = runner.run(withToken(s));
        UsageRecord r = onlyRecord(outcome);
        assertThat(r.includeUsage()).isEqualTo("client");
        assertThat(r.exactExpected()).isTrue();
        assertThat(r.stream()).isTrue();
        assertThat(r.usageSource()).as("the estimate stands until the LLM log's row replaces it").isEqualTo("estimated");
        assertThat(r.totalTokens()).isEqualTo(14);
        assertThat(r.backendRequestId()).isNull();
        assertThat(r.deployment()).isEqualTo("gpt-4o");
        assertThat(outcome.responseBodyReads()).isZero();
        // the backend got what the client sent: include_usage was already true
        assertThat(parse(outcome.forwardedRequestBody())).isEqualTo(recorded.request());
    }

    @Test
    void llmLogSwitchedOffMeansTheEstimateIsTheBill() {
        Scenario on = streamedChat("stream-llm-log-default");
        Scenario off = streamedChat("stream-llm-log-off").namedValue("tokenmeter-llm-log", "false");
        assertThat(fixture.set.manifest().namedValue("tokenmeter-llm-log")).get()
                .extracting(v -> v.defaultValue()).as("declared, default on").isEqualTo("true");
        UsageRecord withLog = onlyRecord(runner.run(withToken(on)));
        UsageRecord withoutLog = onlyRecord(runner.run(withToken(off)));
        assertThat(withLog.exactExpected()).isTrue();
        assertThat(withoutLog.exactExpected()).isFalse();
        // everything else is the same record: usage was still injected and the estimate is still the estimate
        assertThat(withoutLog.includeUsage()).isEqualTo("injected");
        assertThat(withoutLog.usageSource()).isEqualTo("estimated");
        assertThat(withoutLog.totalTokens()).isEqualTo(withLog.totalTokens()).isEqualTo(21);
    }

    @Test
    void selfHostedGatewaySendsNoLlmLogSoNothingIsExpected() {
        Outcome outcome = runner.run(withToken(streamedChat("stream-self-hosted").gateway("gw-contoso-factory")));
        UsageRecord r = onlyRecord(outcome);
        assertThat(r.gatewayId()).isEqualTo("gw-contoso-factory");
        assertThat(r.exactExpected()).isFalse();
        assertThat(r.includeUsage()).as("the fragment still asks the backend for usage").isEqualTo("injected");
        assertThat(r.usageSource()).isEqualTo("estimated");
        assertThat(outcome.metrics()).singleElement().satisfies(m -> assertThat(m.dimensions()).containsEntry("User", OID));
    }

    @Test
    void streamedResponsesApiAlwaysCarriesUsageSoItIsExpectedWithoutIncludeUsage() {
        var example = ReferenceExamples.openai("openai-platform/responses.examples.from-openai-openapi.json", "Streaming");
        assertThat(example.request().path("stream").asBoolean()).as(example.path()).isTrue();
        String sse = example.response().asText();
        assertThat(sse).as("the stream ends with response.completed and its usage").contains("event: response.completed").contains("\"usage\":{\"input_tokens\"");
        Scenario s = Scenario.post("responses-stream", BASE + "/v1/responses", ReferenceExamples.json(example.request()))
                .backend(new Scenario.Backend.Responds(200, "text/event-stream", sse))
                .estimatedTokens(9);
        Outcome outcome = runner.run(withToken(s));
        UsageRecord r = onlyRecord(outcome);
        assertThat(r.operationKind()).isEqualTo("responses");
        assertThat(r.stream()).isTrue();
        assertThat(r.includeUsage()).as("the Responses API has no include_usage; nobody set it").isNull();
        assertThat(r.exactExpected()).isTrue();
        assertThat(r.usageSource()).isEqualTo("estimated");
        assertThat(r.totalTokens()).isEqualTo(9);
        assertThat(r.backendRequestId()).isNull();
        assertThat(r.deployment()).isEqualTo("gpt-5.4");
        assertThat(outcome.responseBodyReads()).isZero();
        assertThat(outcome.forwardedRequestBody()).as("only chat requests are rewritten").isEqualTo(s.body());
    }

    @Test
    void streamedCompletionsAreExpectedOnlyWhenTheClientAskedForUsage() {
        var example = ReferenceExamples.azure("2024-10-21/examples/completions.json");
        ObjectNode plain = example.request().deepCopy();
        plain.put("stream", true);
        ObjectNode asking = plain.deepCopy();
        asking.putObject("stream_options").put("include_usage", true);
        String sse = "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"choices\":[{\"text\":\"Hi\",\"index\":0}]}\n\ndata: [DONE]\n\n";
        Scenario withoutUsage = Scenario.post("completions-stream", BASE + "/deployments/gpt-35-instruct/completions?api-version=2024-10-21", ReferenceExamples.json(plain))
                .backend(new Scenario.Backend.Responds(200, "text/event-stream", sse)).estimatedTokens(6);
        Scenario withUsage = Scenario.post("completions-stream-usage", BASE + "/deployments/gpt-35-instruct/completions?api-version=2024-10-21", ReferenceExamples.json(asking))
                .backend(new Scenario.Backend.Responds(200, "text/event-stream", sse)).estimatedTokens(6);

        Outcome nobodyAsked = runner.run(withToken(withoutUsage));
        UsageRecord r = onlyRecord(nobodyAsked);
        assertThat(r.operationKind()).isEqualTo("completions");
        assertThat(r.includeUsage()).as("the fragment injects for chat only").isNull();
        assertThat(r.exactExpected()).as("a stream without usage leaves the LLM log without counts").isFalse();
        assertThat(nobodyAsked.forwardedRequestBody()).isEqualTo(withoutUsage.body());

        UsageRecord client = onlyRecord(runner.run(withToken(withUsage)));
        assertThat(client.includeUsage()).isEqualTo("client");
        assertThat(client.exactExpected()).isTrue();
    }

    @Test
    void streamedOtherKindIsNotExpected() {
        // the Assistants API streams runs as server-sent events; APIM's LLM log has no counts for it
        Scenario s = Scenario.post("assistants-run-stream", BASE + "/threads/thread_abc123/runs?api-version=2024-05-01-preview",
                        "{\"assistant_id\":\"asst_abc123\",\"stream\":true}")
                .backend(new Scenario.Backend.Responds(200, "text/event-stream",
                        "event: thread.run.created\ndata: {\"id\":\"run_123\",\"object\":\"thread.run\"}\n\nevent: done\ndata: [DONE]\n\n"))
                .estimatedTokens(12);
        Outcome outcome = runner.run(withToken(s));
        UsageRecord r = onlyRecord(outcome);
        assertThat(r.operationKind()).isEqualTo("other");
        assertThat(r.stream()).isTrue();
        assertThat(r.usageSource()).isEqualTo("estimated");
        assertThat(r.includeUsage()).isNull();
        assertThat(r.exactExpected()).isFalse();
        assertThat(outcome.responseBodyReads()).isZero();
        assertThat(outcome.forwardedRequestBody()).isEqualTo(s.body());
    }

    @Test
    void embeddingsAnsweredAsAStreamAreNotExpectedEvenWhenTheClientAskedForUsage() {
        // only the kind rules this out: streamed, successful, managed gateway, LLM log on, the client asked for usage
        var example = ReferenceExamples.azure("2024-10-21/examples/embeddings.json");
        ObjectNode request = example.request().deepCopy();
        request.put("stream", true).putObject("stream_options").put("include_usage", true);
        Scenario s = azure("embeddings-stream", example, "embeddings").withBody(ReferenceExamples.json(request))
                .backend(new Scenario.Backend.Responds(200, "text/event-stream", "data: [DONE]\n\n"))
                .estimatedTokens(4);
        Outcome outcome = runner.run(withToken(s));
        UsageRecord r = onlyRecord(outcome);
        assertThat(r.operationKind()).isEqualTo("embeddings");
        assertThat(r.stream()).isTrue();
        assertThat(r.includeUsage()).isEqualTo("client");
        assertThat(r.exactExpected()).isFalse();
        assertThat(r.usageSource()).isEqualTo("estimated");
        assertThat(r.totalTokens()).isEqualTo(4);
        assertThat(outcome.forwardedRequestBody()).isEqualTo(s.body());
    }

    @Test
    void streamedChatAnsweredWithAnErrorIsNotExpected() {
        Scenario s = streamedChat("stream-429").backend(new Scenario.Backend.Responds(429, "application/json",
                "{\"error\":{\"code\":\"429\",\"message\":\"Requests to the ChatCompletions_Create Operation have exceeded the rate limit.\"}}"));
        Outcome outcome = runner.run(withToken(s));
        UsageRecord r = onlyRecord(outcome);
        assertThat(r.status()).isEqualTo(429);
        assertThat(r.exactExpected()).isFalse();
        assertThat(r.usageSource()).isEqualTo("none");
        assertThat(r.totalTokens()).isZero();
        assertThat(r.includeUsage()).as("the fragment had asked for usage; the backend refused before streaming").isEqualTo("injected");
        assertThat(r.backendRequestId()).as("error bodies are not read").isNull();
        assertThat(outcome.responseBodyReads()).isZero();
        // an error status is an error even when it comes as an event stream: the stream holds no usage to wait for
        Outcome sseError = runner.run(withToken(streamedChat("stream-503-sse").backend(new Scenario.Backend.Responds(503,
                "text/event-stream", "event: error\ndata: {\"error\":{\"code\":\"ServiceUnavailable\"}}\n\n"))));
        UsageRecord e = onlyRecord(sseError);
        assertThat(e.status()).isEqualTo(503);
        assertThat(e.stream()).isTrue();
        assertThat(e.exactExpected()).isFalse();
        assertThat(e.usageSource()).isEqualTo("none");
    }

    @Test
    void streamedChatWhoseBackendIsUnreachableIsNotExpected() {
        Outcome outcome = runner.run(withToken(streamedChat("stream-down").backend(new Scenario.Backend.Unreachable("connection refused"))));
        UsageRecord r = onlyRecord(outcome);
        assertThat(outcome.errors()).singleElement().asString().startsWith("forward-request/BackendConnectionFailure");
        assertThat(r.status()).isEqualTo(500);
        assertThat(r.exactExpected()).isFalse();
        assertThat(r.usageSource()).isEqualTo("none");
    }

    @Test
    void theRecordsRequestIdIsContextRequestIdAndThePartitionKeyByteForByte() {
        Outcome outcome = runner.run(withToken(streamedChat("request-id-join")));
        assertThat(outcome.eventHubMessages()).hasSize(1);
        Outcome.EventHubMessage message = outcome.eventHubMessages().get(0);
        byte[] contextId = outcome.contextRequestId().getBytes(StandardCharsets.UTF_8);
        assertThat(outcome.contextRequestId()).as("context.RequestId.ToString(): a GUID, 'D' format")
                .matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
        // Event Hubs hashes the partition key's bytes; the re-keyed LLM log row uses the lower-case correlationId
        assertThat(message.partitionKey().getBytes(StandardCharsets.UTF_8)).isEqualTo(contextId);
        JsonNode body = parse(message.body());
        assertThat(body.path("request_id").asText().getBytes(StandardCharsets.UTF_8)).isEqualTo(contextId);
        // as written on the wire too, not only after JSON decoding
        assertThat(message.body()).contains("\"request_id\":\"" + outcome.contextRequestId() + "\"");
        UsageRecord r = onlyRecord(outcome);
        assertThat(r.requestId()).isEqualTo(message.partitionKey());
        assertThat(r.exactExpected()).isTrue();
        // a different request, a different id: nothing here is a constant
        Outcome other = runner.run(withToken(streamedChat("request-id-join-2")));
        assertThat(other.contextRequestId()).isNotEqualTo(outcome.contextRequestId());
        assertThat(other.eventHubMessages().get(0).partitionKey()).isEqualTo(other.contextRequestId());
    }

    @Test
    void nonStreamedRequestBodyIsForwardedUnchanged() {
        var example = ReferenceExamples.azure("2024-10-21/examples/completions.json");
        Scenario s = azure("completions-body", example, "completions");
        assertThat(runner.run(withToken(s)).forwardedRequestBody()).isEqualTo(s.body());
    }

    // ---------- identity ----------

    @Test
    void claimIsConfigurable() {
        var example = ReferenceExamples.azure("2024-10-21/examples/completions.json");
        Scenario s = azure("claim-sub", example, "completions").namedValue("tokenmeter-user-claim", "sub");
        UsageRecord r = onlyRecord(runner.run(withToken(s)));
        assertThat(r.userId()).isEqualTo("sub-of-alice");
        assertThat(r.userSource()).isEqualTo("token_claim");
    }

    @Test
    void invalidTokenIsRejectedWithoutARecord() {
        Scenario s = azure("bad-token", ReferenceExamples.azure("2024-10-21/examples/completions.json"), "completions")
                .token(new Scenario.Token.Invalid("TokenSignatureInvalid"), jwt(Map.of("oid", List.of(OID))));
        Outcome outcome = runner.run(s);
        assertThat(outcome.status()).isEqualTo(401);
        assertThat(outcome.reachedBackend()).isFalse();
        assertThat(outcome.eventHubMessages()).isEmpty();
    }

    @Test
    void noTokenAndNoFallbackIsA401() {
        Outcome outcome = runner.run(azure("anonymous-rejected", ReferenceExamples.azure("2024-10-21/examples/completions.json"), "completions"));
        assertThat(outcome.status()).isEqualTo(401);
        assertThat(outcome.responseHeaders()).containsEntry("WWW-Authenticate", List.of("Bearer"));
        assertThat(outcome.reachedBackend()).isFalse();
        assertThat(outcome.eventHubMessages()).isEmpty();
        assertThat(outcome.errors()).isEmpty();
    }

    @Test
    void noTokenIsAnonymousWhenConfigured() {
        var example = ReferenceExamples.azure("2024-10-21/examples/completions.json");
        UsageRecord r = onlyRecord(runner.run(azure("anonymous", example, "completions").namedValue("tokenmeter-unidentified", "anonymous")));
        assertThat(r.userId()).isEqualTo("anonymous");
        assertThat(r.userSource()).isEqualTo("anonymous");
        assertUsage(r, example, 6, 20, 26);
    }

    @Test
    void subscriptionIsTheFirstFallback() {
        UsageRecord r = onlyRecord(runner.run(azure("subscription", ReferenceExamples.azure("2024-10-21/examples/completions.json"), "completions")
                .subscription("sub-team-a", "starter").apimUser("apim-user-1")));
        assertThat(r.userId()).isEqualTo("sub-team-a");
        assertThat(r.userSource()).isEqualTo("subscription");
        assertThat(r.subscriptionId()).isEqualTo("sub-team-a");
        assertThat(r.productId()).isEqualTo("starter");
    }

    @Test
    void apimUserWhenConfiguredFirst() {
        UsageRecord r = onlyRecord(runner.run(azure("apim-user", ReferenceExamples.azure("2024-10-21/examples/completions.json"), "completions")
                .subscription("sub-team-a", "starter").apimUser("apim-user-1")
                .namedValue("tokenmeter-identity-sources", "token_claim,apim_user,subscription")));
        assertThat(r.userId()).isEqualTo("apim-user-1");
        assertThat(r.userSource()).isEqualTo("apim_user");
    }

    @Test
    void forgedHeaderFromAnUntrustedCallerDoesNotChangeTheUser() {
        Scenario s = azure("forged", ReferenceExamples.azure("2024-10-21/examples/completions.json"), "completions")
                .subscription("sub-public-1", "public")
                .header("x-user-id", "victim@contoso.example")
                .namedValue("tokenmeter-identity-sources", "token_claim,trusted_header,subscription")
                .namedValue("tokenmeter-trusted-products", "internal-apps");
        Outcome outcome = runner.run(s);
        UsageRecord r = onlyRecord(outcome);
        assertThat(r.userId()).isEqualTo("sub-public-1");
        assertThat(r.userSource()).isEqualTo("subscription");
        assertThat(outcome.counterKeys()).containsExactly("sub-public-1");
        assertThat(outcome.metrics().get(0).dimensions()).containsEntry("User", "sub-public-1");
    }

    @Test
    void forgedHeaderWithoutAnyIdentityStaysAnonymous() {
        Scenario s = azure("forged-anonymous", ReferenceExamples.azure("2024-10-21/examples/completions.json"), "completions")
                .header("x-user-id", "victim@contoso.example")
                .namedValue("tokenmeter-identity-sources", "trusted_header")
                .namedValue("tokenmeter-unidentified", "anonymous");
        assertThat(onlyRecord(runner.run(s)).userId()).isEqualTo("anonymous");
    }

    @Test
    void headerFromATrustedProductIsAccepted() {
        Scenario s = azure("trusted-product", ReferenceExamples.azure("2024-10-21/examples/completions.json"), "completions")
                .subscription("sub-chat-frontend", "internal-apps")
                .header("x-user-id", "bob@contoso.example")
                .namedValue("tokenmeter-identity-sources", "token_claim,trusted_header,subscription")
                .namedValue("tokenmeter-trusted-products", "partner, internal-apps");
        UsageRecord r = onlyRecord(runner.run(s));
        assertThat(r.userId()).isEqualTo("bob@contoso.example");
        assertThat(r.userSource()).isEqualTo("trusted_header");
    }

    @Test
    void headerFromATrustedAppIdIsAccepted() {
        Scenario s = azure("trusted-app", ReferenceExamples.azure("2024-10-21/examples/completions.json"), "completions")
                .namedValue("tokenmeter-identity-sources", "trusted_header,token_claim")
                .namedValue("tokenmeter-trusted-app-ids", "11111111-2222-3333-4444-555555555555")
                .header("x-user-id", "carol@contoso.example");
        Map<String, List<String>> claims = Map.of("oid", List.of("app-service-principal"), "appid", List.of("11111111-2222-3333-4444-555555555555"));
        UsageRecord r = onlyRecord(runner.run(s.token(new Scenario.Token.Valid(claims), jwt(claims))));
        assertThat(r.userId()).isEqualTo("carol@contoso.example");
        assertThat(r.userSource()).isEqualTo("trusted_header");
    }

    // ---------- errors ----------

    @Test
    void backendErrorIsRecordedWithZeroTokens() {
        Scenario s = azure("backend-400", ReferenceExamples.azure("2024-10-21/examples/completions.json"), "completions")
                .backend(new Scenario.Backend.Responds(400, "application/json",
                        "{\"error\":{\"code\":\"BadRequest\",\"message\":\"invalid prompt\"}}"));
        UsageRecord r = onlyRecord(runner.run(withToken(s)));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.usageSource()).isEqualTo("none");
        assertThat(r.exactExpected()).isFalse();
        assertThat(r.includeUsage()).isNull();
        assertThat(r.backendRequestId()).isNull();
        assertThat(r.promptTokens() + r.completionTokens() + r.totalTokens()).isZero();
        assertThat(r.userId()).isEqualTo(OID);
    }

    @Test
    void backendErrorsProduceNoRecordWhenConfigured() {
        Scenario s = azure("backend-500-quiet", ReferenceExamples.azure("2024-10-21/examples/completions.json"), "completions")
                .backend(new Scenario.Backend.Responds(500, "application/json", "{\"error\":{\"code\":\"InternalServerError\"}}"))
                .namedValue("tokenmeter-log-errors", "false");
        Outcome outcome = runner.run(withToken(s));
        assertThat(outcome.status()).isEqualTo(500);
        assertThat(outcome.eventHubMessages()).isEmpty();
    }

    @Test
    void unreachableBackendIsRecordedFromOnError() {
        Scenario s = azure("backend-down", ReferenceExamples.azure("2024-10-21/examples/completions.json"), "completions")
                .backend(new Scenario.Backend.Unreachable("connection refused"));
        Outcome outcome = runner.run(withToken(s));
        UsageRecord r = onlyRecord(outcome);
        assertThat(outcome.errors()).singleElement().asString().startsWith("forward-request/BackendConnectionFailure");
        assertThat(r.status()).isEqualTo(500);
        assertThat(r.usageSource()).isEqualTo("none");
        assertThat(r.totalTokens()).isZero();
    }

    // ---------- helpers ----------

    static Scenario azure(String name, ReferenceExamples.Example example, String operation) {
        String deployment = example.deployment().matches("[A-Za-z0-9._-]+") ? example.deployment() : "gpt-4o-prod";
        return Scenario.post(name, BASE + "/deployments/" + deployment + "/" + operation + "?api-version=" + example.apiVersion(),
                        ReferenceExamples.json(example.request()))
                .backend(new Scenario.Backend.Responds(200, "application/json", ReferenceExamples.json(example.response())));
    }

    /** The documented chat completion, with no caller identity yet. */
    static Scenario azureChat(String name) {
        return azure(name, ReferenceExamples.azure("2024-10-21/examples/chat_completions.json"), "chat/completions");
    }

    /** The recorded Azure streamed chat without stream_options (so the fragment injects it), answered with an SSE body. */
    static Scenario streamedChat(String name) {
        ObjectNode request = ReferenceExamples.recordedAzureStream().request().deepCopy();
        request.remove("stream_options");
        return Scenario.post(name, BASE + "/deployments/gpt-4o/chat/completions?api-version=2024-10-21", ReferenceExamples.json(request))
                .backend(new Scenario.Backend.Responds(200, "text/event-stream", ReferenceExamples.recordedSseBody()))
                .estimatedTokens(21);
    }

    static Scenario withToken(Scenario s) {
        Map<String, List<String>> claims = Map.of("oid", List.of(OID), "sub", List.of("sub-of-alice"), "appid", List.of("cli-app"));
        return s.token(new Scenario.Token.Valid(claims), jwt(claims));
    }

    /** An unsigned compact JWT carrying the claims; validation itself is a scenario input. */
    static String jwt(Map<String, List<String>> claims) {
        ObjectNode payload = JSON.createObjectNode();
        claims.forEach((k, v) -> payload.put(k, v.get(0)));
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        return b64.encodeToString("{\"alg\":\"RS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8)) + "."
                + b64.encodeToString(payload.toString().getBytes(StandardCharsets.UTF_8)) + ".c2lnbmF0dXJl";
    }

    static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (java.io.IOException e) {
            throw new AssertionError("not JSON: " + json, e);
        }
    }

    Outcome.EventHubMessage onlyMessage(Outcome outcome) {
        assertThat(outcome.errors()).as("policy errors").isEmpty();
        assertThat(outcome.eventHubMessages()).hasSize(1);
        return outcome.eventHubMessages().get(0);
    }

    /** The one usage record of the outcome, checked as the bridge checks it. */
    UsageRecord onlyRecord(Outcome outcome) {
        assertThat(outcome.eventHubMessages()).as("exactly one usage record").hasSize(1);
        Outcome.EventHubMessage message = outcome.eventHubMessages().get(0);
        // v2 schema (UsageRecordParser.schemaFor(2)), the parser reads it as a v2 record, partition key = request id
        UsageRecord record = UsageRecords.v2(message);
        assertThat(record.requestId()).as("context.RequestId.ToString()").isEqualTo(outcome.contextRequestId());
        assertThat(record.policyVersion()).isEqualTo(fixture.set.manifest().version());
        assertThat(record.timestamp()).hasToString(ScenarioContext.TIMESTAMP);
        assertThat(record.serviceName()).isEqualTo(ScenarioContext.SERVICE);
        // context.Elapsed grows while the entitlement check waits for OpenMeter
        assertThat(record.durationMs()).isGreaterThanOrEqualTo(ScenarioContext.ELAPSED_MS);
        return record;
    }

    /** The expected numbers are the example's; checked against the file so a changed reference is noticed. */
    static void assertUsage(UsageRecord r, ReferenceExamples.Example example, long prompt, long completion, long total) {
        assertThat(example.usage().path("prompt_tokens").asLong()).as(example.path()).isEqualTo(prompt);
        assertThat(example.usage().path("total_tokens").asLong()).as(example.path()).isEqualTo(total);
        assertThat(r.promptTokens()).isEqualTo(prompt);
        assertThat(r.completionTokens()).isEqualTo(completion);
        assertThat(r.totalTokens()).isEqualTo(total);
        assertThat(r.usageSource()).isEqualTo("reported");
    }
}
