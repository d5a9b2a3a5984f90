package dev.tokenmeter.bridge.mapping;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cloudevents.CloudEvent;
import io.cloudevents.core.builder.CloudEventBuilder;
import io.cloudevents.jackson.JsonFormat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Instant;
import java.time.ZoneOffset;

/** Builds and serializes CloudEvents 1.0 with the official SDK, so the wire form follows the spec, not us. */
final class CloudEventWriter {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonFormat FORMAT = new JsonFormat();

    private CloudEventWriter() {
    }

    static ObjectNode newData() {
        return MAPPER.createObjectNode();
    }

    static OutgoingEvent write(String id, String source, String type, String subject, Instant time, ObjectNode data) {
        try {
            CloudEvent event = CloudEventBuilder.v1()
                    .withId(id)
                    .withSource(URI.create(source))
                    .withType(type)
                    .withSubject(subject)
                    .withTime(time.atOffset(ZoneOffset.UTC))
                    .withData("application/json", MAPPER.writeValueAsBytes(data))
                    .build();
            return new OutgoingEvent(id, FORMAT.serialize(event));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
