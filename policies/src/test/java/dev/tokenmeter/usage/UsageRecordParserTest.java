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
            "unknown-schema-version-2.jsonl          | $.schema_version: must be the constant value '1'",
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
            assertThat(files).hasSize(13);
        }
    }
}
