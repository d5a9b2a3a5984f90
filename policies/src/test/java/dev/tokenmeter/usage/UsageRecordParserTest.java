package dev.tokenmeter.usage;

import dev.tokenmeter.testkit.ProjectFiles;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class UsageRecordParserTest {

    static final Path SAMPLES = ProjectFiles.resolve("samples/usage-records");

    private final UsageRecordParser parser = new UsageRecordParser();

    @Test
    void everyValidSampleParsesWithItsNumbers() throws IOException {
        List<String> lines = Files.readAllLines(SAMPLES.resolve("valid/2026-11-27-contoso-apim.jsonl"));
        assertThat(lines).hasSizeGreaterThanOrEqualTo(10);
        for (String line : lines) {
            ParseResult result = parser.parse(line.getBytes());
            assertThat(result).as(line).isInstanceOf(ParseResult.Valid.class);
        }
        UsageRecord first = ((ParseResult.Valid) parser.parse(lines.get(0).getBytes())).record();
        assertThat(first.requestId()).isEqualTo("6f1c2a7e-4b1d-4f8e-9a51-0c2d3e4f5a61");
        assertThat(first.userId()).isEqualTo("3f2b8c1e-7d6a-4e21-9b0f-5a4c3d2e1f01");
        assertThat(first.promptTokens()).isEqualTo(1210);
        assertThat(first.completionTokens()).isEqualTo(342);
        assertThat(first.totalTokens()).isEqualTo(1552);
        assertThat(first.cachedTokens()).isEqualTo(1024);
        assertThat(first.timestamp()).hasToString("2026-11-27T08:01:12.347Z");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "truncated-json.jsonl                    | truncated JSON",
            "prompt-tokens-is-a-string.jsonl         | $.prompt_tokens: string found, integer expected",
            "negative-completion-tokens.jsonl        | $.completion_tokens: must have a minimum value of 0",
            "missing-request-id.jsonl                | required property 'request_id' not found",
            "missing-user-id.jsonl                   | required property 'user_id' not found",
            "unknown-schema-version-3.jsonl          | $.schema_version: 3 is not a contract this bridge reads (1 or 2)",
            "v2-without-exact-expected.jsonl         | required property 'exact_expected' not found",
            "cached-tokens-exceed-prompt-tokens.jsonl| $.cached_tokens: 5000 exceeds $.prompt_tokens 1210",
            "timestamp-not-utc.jsonl                 | $.timestamp: does not match the regex pattern",
            "unknown-field.jsonl                     | property 'user_email' is not defined in the schema",
            "not-a-json-object.jsonl                 | $: a usage record is a JSON object, found array",
            "empty-user-id.jsonl                     | $.user_id: must be at least 1 characters long",
            "record-larger-than-1mb.jsonl            | larger than the 262144-byte limit",
            "not-utf8-bytes.jsonl                    | not valid UTF-8",
    })
    void everyInvalidSampleGetsAReasonNamingTheProblem(String file, String expectedReason) throws IOException {
        byte[] bytes = Files.readAllBytes(SAMPLES.resolve("invalid").resolve(file));
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] == '\n') {
            end--;
        }
        ParseResult result = parser.parse(java.util.Arrays.copyOf(bytes, end));
        assertThat(result).isInstanceOf(ParseResult.Invalid.class);
        assertThat(((ParseResult.Invalid) result).reason()).contains(expectedReason);
    }

    @Test
    void everyInvalidSampleIsCoveredByTheTableAbove() throws IOException {
        try (var files = Files.list(SAMPLES.resolve("invalid"))) {
            assertThat(files).hasSize(14);
        }
    }

    private static final String STREAMED_V1 = "{\"schema_version\":1,\"request_id\":\"A1B2C3D4-0000-4000-8000-000000000001\","
            + "\"timestamp\":\"2026-11-27T08:01:12.347Z\",\"service_name\":\"contoso-apim\",\"gateway_id\":\"managed\","
            + "\"user_id\":\"alice\",\"user_source\":\"token_claim\",\"operation_kind\":\"chat\",\"stream\":true,"
            + "\"usage_source\":\"estimated\",\"status\":200,\"prompt_tokens\":63,\"completion_tokens\":0,"
            + "\"total_tokens\":63,\"policy_version\":\"1.1.0\"}";

    @Test
    void aV1StreamedEstimateFromTheManagedGatewayIsExpectedToBeJoined() {
        UsageRecord record = valid(STREAMED_V1);
        assertThat(record.schemaVersion()).isEqualTo(1);
        assertThat(record.exactExpected()).isTrue();
        assertThat(record.includeUsage()).isNull();
        assertThat(valid(STREAMED_V1.replace("\"managed\"", "\"gw-onprem-1\"")).exactExpected())
                .as("self-hosted gateways send no LLM log").isFalse();
        assertThat(valid(STREAMED_V1.replace("\"operation_kind\":\"chat\"", "\"operation_kind\":\"embeddings\"")).exactExpected())
                .isFalse();
        assertThat(valid(STREAMED_V1.replace("\"status\":200", "\"status\":429")).exactExpected()).isFalse();
    }

    @Test
    void aV2RecordCarriesWhatThePolicySaid() {
        String v2 = STREAMED_V1.replace("\"schema_version\":1", "\"schema_version\":2")
                .replace("\"policy_version\":\"1.1.0\"", "\"policy_version\":\"1.2.0\",\"exact_expected\":false,"
                        + "\"include_usage\":\"injected\",\"backend_request_id\":null");
        UsageRecord record = valid(v2);
        assertThat(record.schemaVersion()).isEqualTo(2);
        assertThat(record.exactExpected()).as("v2 says, the bridge does not infer").isFalse();
        assertThat(record.includeUsage()).isEqualTo("injected");
        assertThat(parser.parse(STREAMED_V1.replace("\"policy_version\":\"1.1.0\"",
                "\"policy_version\":\"1.1.0\",\"exact_expected\":true").getBytes()))
                .as("v1 has no exact_expected").isInstanceOf(ParseResult.Invalid.class);
    }

    @Test
    void timestampsOutsideTheContractAreRefusedWithTheFieldNeverThrown() {
        for (String timestamp : List.of("2026-11-27 08:01:12Z", "2026-11-27T08:01Z", "+10000-01-01T00:00:00Z",
                "2026-02-30T08:01:12Z", "2026-11-27T23:59:60Z", "2026-11-27T08:01:12+01:00")) {
            ParseResult result = parser.parse(STREAMED_V1.replace("2026-11-27T08:01:12.347Z", timestamp).getBytes());
            assertThat(result).as(timestamp).isInstanceOf(ParseResult.Invalid.class);
            assertThat(((ParseResult.Invalid) result).reason()).as(timestamp).contains("$.timestamp");
        }
    }

    private UsageRecord valid(String json) {
        ParseResult result = parser.parse(json.getBytes());
        assertThat(result).as(json).isInstanceOf(ParseResult.Valid.class);
        return ((ParseResult.Valid) result).record();
    }
}
