package dev.tokenmeter.bridge.mapping;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenmeter.bridge.support.Records;
import dev.tokenmeter.usage.ParseResult;
import dev.tokenmeter.usage.UsageRecord;
import dev.tokenmeter.usage.UsageRecordParser;
import io.cloudevents.CloudEvent;
import io.cloudevents.SpecVersion;
import io.cloudevents.jackson.JsonFormat;
import org.junit.jupiter.api.Test;

import java.time.ZoneOffset;

import java.io.IOException;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class MappersTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final UsageRecordParser parser = new UsageRecordParser();

    private UsageRecord record(byte[] bytes) {
        return ((ParseResult.Valid) parser.parse(bytes)).record();
    }

    @Test
    void theSameRecordAlwaysGivesTheSameBytes() {
        EventMapper mapper = new RequestEventMapper(new EventSettings(null, null));
        List<OutgoingEvent> first = mapper.map(record(Records.valid(7)));
        List<OutgoingEvent> again = new RequestEventMapper(new EventSettings(null, null)).map(record(Records.valid(7)));
        assertThat(first).hasSize(1);
        assertThat(again.get(0).json()).isEqualTo(first.get(0).json());
        assertThat(first.get(0).id()).isEqualTo(Records.requestId(7));
    }

    @Test
    void theCloudEventsSdkReadsBackExactlyTheEventWeMeant() {
        String json = new String(Records.valid(5)).replace("\"product_id\":\"ai-standard\"", "\"product_id\":null")
                .replace("\"user_id\":\"user-0\"", "\"user_id\":\"\\u00e9l\\u00e8ve \\\"quoted\\\" \\ud83d\\ude00\"");
        UsageRecord r = record(json.getBytes());
        for (EventMapper mapper : List.of(new RequestEventMapper(new EventSettings(null, null)),
                new PerTokenTypeEventMapper(new EventSettings("apim/x", "t")))) {
            for (OutgoingEvent e : mapper.map(r)) {
                CloudEvent read = new JsonFormat().deserialize(e.json());
                assertThat(read.getSpecVersion()).isEqualTo(SpecVersion.V1);
                assertThat(read.getId()).isEqualTo(e.id());
                assertThat(read.getSubject()).isEqualTo(r.userId());
                assertThat(read.getTime()).isEqualTo(r.timestamp().atOffset(ZoneOffset.UTC));
                assertThat(read.getDataContentType()).isEqualTo("application/json");
                // re-serialized by the SDK, the event carries the same attributes and data
                assertThat(tree(new JsonFormat().serialize(read))).isEqualTo(tree(e.json()));
            }
        }
    }

    private static JsonNode tree(byte[] json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void sourceAndTypeAreConfigurable() throws IOException {
        EventMapper mapper = new RequestEventMapper(new EventSettings("tokenmeter/prod-eu", "llm-tokens"));
        JsonNode event = JSON.readTree(mapper.map(record(Records.valid(1))).get(0).json());
        assertThat(event.get("source").asText()).isEqualTo("tokenmeter/prod-eu");
        assertThat(event.get("type").asText()).isEqualTo("llm-tokens");
        assertThat(event.get("specversion").asText()).isEqualTo("1.0");
        assertThat(event.get("datacontenttype").asText()).isEqualTo("application/json");
    }

    @Test
    void perTokenTypeEventsPartitionTheTotalAndSkipZeros() throws IOException {
        String json = new String(Records.valid(3))
                .replace("\"prompt_tokens\":103", "\"prompt_tokens\":1000")
                .replace("\"completion_tokens\":50", "\"completion_tokens\":300")
                .replace("\"total_tokens\":153", "\"total_tokens\":1300")
                .replace("\"cached_tokens\":0", "\"cached_tokens\":600");
        List<OutgoingEvent> events = new PerTokenTypeEventMapper(new EventSettings(null, null)).map(record(json.getBytes()));

        assertThat(events).extracting(OutgoingEvent::id).containsExactly(
                Records.requestId(3) + ":input", Records.requestId(3) + ":output", Records.requestId(3) + ":cache_read");
        long sum = 0;
        for (OutgoingEvent e : events) {
            JsonNode data = JSON.readTree(e.json()).get("data");
            assertThat(data.get("model").asText()).isEqualTo("gpt-4o-2024-08-06");
            sum += data.get("tokens").asLong();
        }
        assertThat(sum).isEqualTo(1300);
    }

    @Test
    void aFailedRequestWithNoTokensSendsNoPerTypeEvents() {
        String json = new String(Records.valid(4))
                .replace("\"prompt_tokens\":104", "\"prompt_tokens\":0")
                .replace("\"completion_tokens\":50", "\"completion_tokens\":0")
                .replace("\"total_tokens\":154", "\"total_tokens\":0")
                .replace("\"status\":200", "\"status\":500");
        assertThat(new PerTokenTypeEventMapper(new EventSettings(null, null)).map(record(json.getBytes()))).isEmpty();
    }
}
