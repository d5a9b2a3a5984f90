package dev.tokenmeter.usage;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;

import static org.assertj.core.api.Assertions.assertThat;

class UsageRecordWriterTest {

    private final UsageRecordParser parser = new UsageRecordParser();

    @Test
    void everyValidSampleWrittenBackReadsAsTheSameRecordInV1AndV2() throws Exception {
        for (String line : Files.readAllLines(UsageRecordParserTest.SAMPLES.resolve("valid/2026-11-27-contoso-apim.jsonl"))) {
            UsageRecord v1 = ((ParseResult.Valid) parser.parse(line.getBytes())).record();
            assertThat(parser.parse(UsageRecordWriter.write(v1))).isEqualTo(new ParseResult.Valid(v1));
            String asV2 = line.replace("\"schema_version\":1", "\"schema_version\":2")
                    .replace("\"policy_version\":", "\"exact_expected\":true,\"include_usage\":\"client\","
                            + "\"backend_request_id\":\"chatcmpl-1\",\"policy_version\":");
            UsageRecord v2 = ((ParseResult.Valid) parser.parse(asV2.getBytes())).record();
            assertThat(parser.parse(UsageRecordWriter.write(v2))).isEqualTo(new ParseResult.Valid(v2));
        }
    }
}
