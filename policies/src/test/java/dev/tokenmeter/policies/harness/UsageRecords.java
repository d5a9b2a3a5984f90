package dev.tokenmeter.policies.harness;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenmeter.usage.ParseResult;
import dev.tokenmeter.usage.UsageRecord;
import dev.tokenmeter.usage.UsageRecordParser;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A usage-log message checked the way the bridge will check it: sent to the tokenmeter-usage logger, keyed (never
 * pinned to a partition), under 2 KB, valid against contract v2 ({@code usage-record.v2.json}), accepted by
 * {@link UsageRecordParser} as a version 2 record, and partitioned by its own request id.
 */
final class UsageRecords {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final UsageRecordParser PARSER = new UsageRecordParser();
    private static final com.networknt.schema.JsonSchema V2 = UsageRecordParser.schemaFor(2);

    private UsageRecords() {
    }

    static UsageRecord v2(Outcome.EventHubMessage message) {
        byte[] bytes = message.body().getBytes(StandardCharsets.UTF_8);
        assertThat(bytes.length).as("record size").isLessThan(2048);
        assertThat(message.loggerId()).isEqualTo("tokenmeter-usage");
        assertThat(message.partitionId()).isNull();
        JsonNode node;
        try {
            node = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + message.body(), e);
        }
        assertThat(V2.validate(node)).as("v2 schema findings for " + message.body()).isEmpty();
        ParseResult result = PARSER.parse(bytes);
        assertThat(result).as(message.body()).isInstanceOf(ParseResult.Valid.class);
        UsageRecord record = ((ParseResult.Valid) result).record();
        assertThat(record.schemaVersion()).as("read as contract version").isEqualTo(2);
        assertThat(message.partitionKey()).isEqualTo(record.requestId());
        return record;
    }
}
