package dev.tokenmeter.bridge.llmlog;

import dev.tokenmeter.bridge.join.JoinRowCodec;
import dev.tokenmeter.bridge.join.LlmUsage;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Golden tests of the diagnostic-log parser on the fixtures in {@code src/test/resources/llmlog/}, which are
 * reconstructions from the documented field names, not captures (see the README there).
 */
class LlmLogParserTest {

    private final LlmLogParser parser = new LlmLogParser();

    static byte[] fixture(String name) {
        try (InputStream in = LlmLogParserTest.class.getResourceAsStream("/llmlog/" + name)) {
            if (in == null) {
                throw new IllegalStateException("no fixture " + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private List<RecordOutcome> records(byte[] message) {
        ParsedMessage parsed = parser.parse(message);
        assertThat(parsed).isInstanceOf(ParsedMessage.Records.class);
        return ((ParsedMessage.Records) parsed).records();
    }

    private List<RecordOutcome> records(String fixture) {
        return records(fixture(fixture));
    }

    private static RecordOutcome usage(LlmUsage usage) {
        return new RecordOutcome.Usage(usage);
    }

    private static SkipReason reason(RecordOutcome outcome) {
        assertThat(outcome).isInstanceOf(RecordOutcome.Skipped.class);
        return ((RecordOutcome.Skipped) outcome).reason();
    }

    private static String detail(RecordOutcome outcome) {
        return ((RecordOutcome.Skipped) outcome).detail();
    }

    @Test
    void envelopeOfAStreamedChatGivesTheCountsRowAndSkipsItsMessageChunks() {
        assertThat(records("envelope-streamed-chat.json")).containsExactly(
                new RecordOutcome.Skipped(SkipReason.MESSAGE_CHUNK, "message content without model or counts"),
                new RecordOutcome.Skipped(SkipReason.MESSAGE_CHUNK, "message content without model or counts"),
                usage(new LlmUsage("c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e44", Instant.parse("2026-11-27T08:07:59.76Z"),
                        "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "2024-10-21", true, 517, 203, 720, 0L,
                        "chatcmpl-Bx7qLrT2mYd0aVw9KcE4sHn1pJ6uZ")));
    }

    @Test
    void correlationIdInsidePropertiesInUpperCaseIsFoundAndMadeCanonical() {
        assertThat(records("envelope-correlation-in-properties.json")).containsExactly(
                usage(new LlmUsage("c7d8e9f0-a1b2-4c3d-8e5f-6a7b8c9d0eaa", Instant.parse("2026-11-27T08:17:02.218Z"),
                        "gpt-4o", "gpt-4o-2024-08-06", "2024-10-21", true, 1432, 615, 2047, 1280L,
                        "chatcmpl-Cz2wPqR8nTe5bXy1LdF7gJo3kM9vA")));
    }

    @Test
    void aBareArrayOfRecordsIsReadLikeAnEnvelope() {
        List<RecordOutcome> records = records("bare-array.json");
        assertThat(records).hasSize(3);
        assertThat(records.subList(0, 2)).containsExactly(
                usage(new LlmUsage("6f1c2a7e-4b1d-4f8e-9a51-0c2d3e4f5a61", Instant.parse("2026-11-27T08:01:12.347Z"),
                        "gpt-4o", "gpt-4o-2024-08-06", "2024-10-21", false, 1210, 342, 1552, 1024L,
                        "chatcmpl-Aa1bB2cC3dD4eE5fF6gG7hH8iI9jJ0")),
                usage(new LlmUsage("0a9e7d3c-1f2b-4c5d-8e6f-7a8b9c0d1e22", Instant.parse("2026-11-27T08:02:40.905Z"),
                        "gpt-4o", "gpt-4o-2024-08-06", "2024-10-21", false, 88, 51, 139, 0L,
                        "chatcmpl-Kk1lL2mM3nN4oO5pP6qQ7rR8sS9tT0")));
        assertThat(reason(records.get(2))).isEqualTo(SkipReason.PROBE);
    }

    @Test
    void aSingleRecordObjectIsOneRecordAndAMissingCachedCountStaysUnknown() {
        assertThat(records("single-record.json")).containsExactly(
                usage(new LlmUsage("b7c6d5e4-f3a2-4b1c-9d8e-7f6a5b4c3d33", Instant.parse("2026-11-27T08:05:03.118Z"),
                        "text-embedding-3-large", "text-embedding-3-large", "2024-10-21", false, 4096, 0, 4096, null,
                        null)));
    }

    @Test
    void logAnalyticsExportLinesInPascalCaseWithAndWithoutTypeAndNumericStrings() throws IOException {
        List<String> lines = new String(fixture("loganalytics-export.jsonl"), StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).hasSize(4);
        List<List<RecordOutcome>> perLine = lines.stream()
                .map(line -> records(line.getBytes(StandardCharsets.UTF_8))).toList();

        // blank ModelName and null counts: the chunk with the request messages
        assertThat(perLine.get(0)).singleElement().satisfies(r -> assertThat(reason(r)).isEqualTo(SkipReason.MESSAGE_CHUNK));
        assertThat(perLine.get(1)).containsExactly(
                usage(new LlmUsage("c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e44", Instant.parse("2026-11-27T08:07:59.76Z"),
                        "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "2024-10-21", true, 517, 203, 720, null,
                        "chatcmpl-Bx7qLrT2mYd0aVw9KcE4sHn1pJ6uZ")));
        // no Type: recognised by the LLM log's own columns; counts and the flag as strings
        assertThat(perLine.get(2)).containsExactly(
                usage(new LlmUsage("c7d8e9f0-a1b2-4c3d-8e5f-6a7b8c9d0eaa", Instant.parse("2026-11-27T08:17:02.218Z"),
                        "gpt-4o", "gpt-4o-2024-08-06", "2024-10-21", true, 1432, 615, 2047, null,
                        "chatcmpl-Cz2wPqR8nTe5bXy1LdF7gJo3kM9vA")));
        assertThat(perLine.get(3)).containsExactly(
                new RecordOutcome.Skipped(SkipReason.OTHER_CATEGORY, "table ApiManagementGatewayLogs"));
    }

    @Test
    void probeRowsCarryNothingAndAreSkipped() {
        assertThat(records("probe-rows.json")).extracting(LlmLogParserTest::reason)
                .containsExactly(SkipReason.PROBE, SkipReason.PROBE, SkipReason.PROBE);
    }

    @Test
    void aModelWithZeroCountsIsStillTokenBearing() {
        List<RecordOutcome> records = records("stream-without-usage.json");
        assertThat(records).containsExactly(
                usage(new LlmUsage("f1e2d3c4-b5a6-4978-8695-a4b3c2d1e077", Instant.parse("2026-11-27T08:12:44.5Z"),
                        "gpt-4o", "gpt-4o-2024-08-06", "2024-10-21", true, 0, 0, 0, null,
                        "chatcmpl-Dd4eE5fF6gG7hH8iI9jJ0kK1lL2mM3")));
        assertThat(((RecordOutcome.Usage) records.get(0)).usage().hasUsage()).isFalse();
    }

    @Test
    void responsesApiRowsKeepTheirRespIdAsBackendRequestId() {
        List<RecordOutcome> records = records("responses-api.json");
        assertThat(reason(records.get(0))).isEqualTo(SkipReason.MESSAGE_CHUNK);
        assertThat(records.get(1)).isEqualTo(
                usage(new LlmUsage("d2e3f4a5-b6c7-4d8e-9f0a-1b2c3d4e5f55", Instant.parse("2026-11-27T08:09:30.814Z"),
                        "o4-mini", "o4-mini-2025-04-16", "2025-04-01-preview", false, 2318, 1460, 3778, 1920L,
                        "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452e3c0d7")));
    }

    @Test
    void otherCategoriesAndMetricsAreSkippedAndTheCategoryMatchesInAnyCase() {
        List<RecordOutcome> records = records("mixed-categories.json");
        assertThat(records).hasSize(3);
        assertThat(records.get(0)).isEqualTo(new RecordOutcome.Skipped(SkipReason.OTHER_CATEGORY, "category GatewayLogs"));
        assertThat(records.get(1)).isEqualTo(new RecordOutcome.Skipped(SkipReason.METRIC, "metric Requests"));
        assertThat(records.get(2)).isInstanceOf(RecordOutcome.Usage.class);
        assertThat(((RecordOutcome.Usage) records.get(2)).usage().correlationId())
                .isEqualTo("6f1c2a7e-4b1d-4f8e-9a51-0c2d3e4f5a61");
    }

    @Test
    void twoConflictingTokenRowsForOneIdAreBothReturnedInOrder() {
        ParsedMessage.Records parsed = (ParsedMessage.Records) parser.parse(fixture("conflicting-token-rows.json"));
        assertThat(parsed.usages()).extracting(LlmUsage::correlationId, LlmUsage::completionTokens, LlmUsage::time)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple("c7d8e9f0-a1b2-4c3d-8e5f-6a7b8c9d0eaa", 615L,
                                Instant.parse("2026-11-27T08:17:02.218Z")),
                        org.assertj.core.groups.Tuple.tuple("c7d8e9f0-a1b2-4c3d-8e5f-6a7b8c9d0eaa", 0L,
                                Instant.parse("2026-11-27T08:17:02.219Z")));
    }

    @Test
    void countsAsNumericStringsAreTheSameAsNumbers() {
        assertThat(records("numeric-strings.json")).isEqualTo(
                records("bare-array.json").subList(0, 1));
    }

    @Test
    void theSameMessageTwiceGivesTheSameRowsTwice() {
        byte[] message = fixture("envelope-streamed-chat.json");
        assertThat(parser.parse(message)).isEqualTo(parser.parse(message));

        String record = new String(fixture("single-record.json"), StandardCharsets.UTF_8).trim();
        ParsedMessage.Records twice = (ParsedMessage.Records) parser.parse(
                ("{\"records\":[" + record + "," + record + "]}").getBytes(StandardCharsets.UTF_8));
        assertThat(twice.usages()).hasSize(2);
        assertThat(twice.usages().get(0)).isEqualTo(twice.usages().get(1));
    }

    @Test
    void eachBadFieldSkipsOnlyItsRecordWithAReasonNamingIt() {
        List<RecordOutcome> records = records("invalid-fields.json");
        assertThat(records).hasSize(15);
        List<RecordOutcome> refused = records.subList(0, 14);
        assertThat(refused).extracting(LlmLogParserTest::reason).containsExactly(
                SkipReason.INVALID_FIELD, SkipReason.INVALID_FIELD, SkipReason.INVALID_FIELD, SkipReason.INVALID_FIELD,
                SkipReason.INVALID_FIELD, SkipReason.INVALID_FIELD, SkipReason.INVALID_FIELD, SkipReason.MISSING_FIELD,
                SkipReason.MISSING_FIELD, SkipReason.INVALID_FIELD, SkipReason.INVALID_FIELD, SkipReason.INVALID_FIELD,
                SkipReason.INVALID_FIELD, SkipReason.NOT_A_RECORD);
        assertThat(refused).extracting(LlmLogParserTest::detail).containsExactly(
                "promptTokens -5 is negative",
                "completionTokens 20.5 is not a whole number",
                "totalTokens 99999999999999999999999 exceeds 2000000000",
                "promptTokens '12x' is not a whole number >= 0",
                "totalTokens is a boolean, not a count",
                "promptTokens 3000000000 exceeds 2000000000",
                "time 'yesterday' is not an ISO 8601 date-time",
                "token-bearing row without correlationId",
                "token-bearing row without time or TimeGenerated",
                "$.correlation_id: '{0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d88}' is not a canonical request id (lower case; "
                        + "letters, digits and . _ : -)",
                "$.cached_tokens: 101 exceeds $.prompt_tokens 100",
                "modelName is a number, not a string",
                "isStreamCompletion 'yes' is not true or false",
                "a string, not a log record object");
        assertThat(records.get(14)).isInstanceOf(RecordOutcome.Usage.class);
    }

    @Test
    void everyUsageReadsBackThroughTheJoinRowCodecUnchanged() {
        for (String fixture : List.of("envelope-streamed-chat.json", "envelope-correlation-in-properties.json",
                "bare-array.json", "single-record.json", "stream-without-usage.json", "responses-api.json",
                "mixed-categories.json", "conflicting-token-rows.json", "numeric-strings.json", "invalid-fields.json")) {
            for (LlmUsage usage : ((ParsedMessage.Records) parser.parse(fixture(fixture))).usages()) {
                assertThat(JoinRowCodec.read(JoinRowCodec.write(usage))).as(fixture)
                        .isEqualTo(new JoinRowCodec.Read.Row(usage));
            }
        }
    }

    @Test
    void keysMatchInAnyCaseAndAValueGivenTwiceDifferentlyIsRefused() {
        String row = """
                {"TIME":"2026-11-27T08:30:00Z","CATEGORY":"gatewayllmlogs","CORRELATIONID":"ABC-1",
                 "PROPERTIES":{"MODELNAME":"gpt-4o","PROMPTTOKENS":3,"COMPLETIONTOKENS":2}}""";
        assertThat(records(row.getBytes(StandardCharsets.UTF_8))).singleElement().satisfies(r ->
                assertThat(((RecordOutcome.Usage) r).usage())
                        .returns("abc-1", LlmUsage::correlationId)
                        .returns(5L, LlmUsage::totalTokens));

        String twice = """
                {"time":"2026-11-27T08:30:00Z","category":"GatewayLlmLogs","correlationId":"abc-1",
                 "properties":{"modelName":"gpt-4o","promptTokens":3,"PromptTokens":4}}""";
        assertThat(records(twice.getBytes(StandardCharsets.UTF_8))).containsExactly(new RecordOutcome.Skipped(
                SkipReason.INVALID_FIELD, "promptTokens is given twice with different values"));

        String conflict = """
                {"time":"2026-11-27T08:30:00Z","category":"GatewayLlmLogs","correlationId":"abc-1",
                 "properties":{"correlationId":"abc-2","modelName":"gpt-4o"}}""";
        assertThat(records(conflict.getBytes(StandardCharsets.UTF_8))).containsExactly(new RecordOutcome.Skipped(
                SkipReason.INVALID_FIELD, "correlationId differs between the top level and properties"));

        String sameIdTwoCases = """
                {"time":"2026-11-27T08:30:00Z","category":"GatewayLlmLogs","correlationId":"ABC-1",
                 "properties":{"correlationId":"abc-1","modelName":"gpt-4o"}}""";
        assertThat(((ParsedMessage.Records) parser.parse(sameIdTwoCases.getBytes(StandardCharsets.UTF_8))).usages())
                .extracting(LlmUsage::correlationId).containsExactly("abc-1");
    }

    @Test
    void bytesOfNoKnownShapeAreUnparseableWithAReason() {
        assertThat(unparseable("")).isEqualTo("empty message");
        assertThat(unparseable(" \n")).isEqualTo("empty message");
        assertThat(unparseable("{\"records\":[{\"time\":")).startsWith("not JSON: Unexpected end-of-input");
        assertThat(unparseable("records")).startsWith("not JSON: Unrecognized token 'records'");
        assertThat(unparseable("{\"records\":[]} {}")).startsWith("not JSON: Trailing token");
        assertThat(unparseable("42")).isEqualTo("the message is a number, not {\"records\": [...]}, an array of records or a record");
        assertThat(unparseable("{\"records\":{}}")).isEqualTo("records is an object, not an array");
        assertThat(unparseable("{\"hello\":\"world\"}")).startsWith("a JSON object that is neither");
        assertThat(unparseable("{\"records\":[],\"records\":[]}")).startsWith("not JSON: Duplicate field 'records'");
        assertThat(parser.parse(new byte[]{'{', '"', 'a', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'}))
                .isInstanceOf(ParsedMessage.Unparseable.class);
        assertThat(parser.parse(null)).isEqualTo(new ParsedMessage.Unparseable("empty message"));
    }

    @Test
    void deepNestingIsUnparseableNotAStackOverflow() {
        String deep = "{\"records\":[{\"properties\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}]}";
        assertThat(unparseable(deep)).contains("nesting depth");
    }

    @Test
    void anEmptyEnvelopeHasNoRecords() {
        assertThat(parser.parse("{\"records\":[]}".getBytes(StandardCharsets.UTF_8)))
                .isEqualTo(new ParsedMessage.Records(List.of()));
    }

    private String unparseable(String text) {
        ParsedMessage parsed = parser.parse(text.getBytes(StandardCharsets.UTF_8));
        assertThat(parsed).as(text.length() > 80 ? text.substring(0, 80) : text)
                .isInstanceOf(ParsedMessage.Unparseable.class);
        return ((ParsedMessage.Unparseable) parsed).reason();
    }
}
