package dev.tokenmeter.policies.harness;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.testkit.SharedReference;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;

/** The documented Azure OpenAI requests and responses in ../shared/reference/azure-openai, read at test time. */
final class ReferenceExamples {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Request and 200 response of one example, and where it is. */
    record Example(String path, JsonNode request, JsonNode response, String apiVersion, String deployment) {
        JsonNode usage() {
            return response.path("usage");
        }
    }

    private ReferenceExamples() {
    }

    static JsonNode read(String relative) {
        try {
            String text = Files.readString(SharedReference.resolve("azure-openai/" + relative));
            if (text.startsWith("SOURCE:")) {
                text = text.substring(text.indexOf('\n') + 1);
            }
            return JSON.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** An Azure REST spec example (x-ms-examples shape: parameters.body and responses.200.body). */
    static Example azure(String relative) {
        JsonNode example = read(relative);
        JsonNode parameters = example.path("parameters");
        String deployment = parameters.has("deployment-id") ? parameters.path("deployment-id").asText()
                : parameters.path("deploymentId").asText(null);
        return new Example(relative, parameters.path("body"), example.path("responses").path("200").path("body"),
                parameters.path("api-version").asText(), deployment);
    }

    /** One titled example of OpenAI's own API description (request_body and response). */
    static Example openai(String relative, String title) {
        for (JsonNode e : read(relative).path("examples")) {
            if (e.path("title").asText().equals(title)) {
                return new Example(relative + "#" + title, e.path("request_body"), e.path("response"), null, null);
            }
        }
        throw new IllegalArgumentException("no example '" + title + "' in " + relative);
    }

    /** The request of the recorded Azure stream with include_usage, and the usage of its final chunk. */
    static Example recordedAzureStream() {
        JsonNode recording = read("streaming/azure-chat-stream-include-usage.llama-stack-recording.txt");
        JsonNode chunks = recording.path("response").path("body");
        JsonNode last = chunks.get(chunks.size() - 1).path("__data__");
        ObjectNode response = JSON.createObjectNode();
        response.set("usage", last.path("usage"));
        response.set("model", last.path("model"));
        return new Example("streaming/azure-chat-stream-include-usage", recording.path("request").path("body"), response, null, null);
    }

    /** A raw SSE body as OpenAI sends it (data: lines, [DONE]). */
    static String recordedSseBody() {
        try {
            String text = Files.readString(SharedReference.resolve("azure-openai/streaming/openai-chat-stream-include-usage.openai-python-snapshot.txt"));
            return text.substring(text.indexOf('\n') + 1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String json(JsonNode node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
