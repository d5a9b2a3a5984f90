package dev.tokenmeter.bridge.support;

import dev.tokenmeter.testkit.ProjectFiles;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Valid usage records made up for tests, and the project's sample folder. */
public final class Records {

    private Records() {
    }

    public static Path samples() {
        return ProjectFiles.resolve("samples/usage-records");
    }

    public static String requestId(int i) {
        return String.format("00000000-0000-4000-8000-%012d", i);
    }

    /** Record number {@code i}: its own request id, one of five users, {@code 100 + i} prompt tokens. */
    public static byte[] valid(int i) {
        return valid(i, "user-" + (i % 5));
    }

    public static byte[] valid(int i, String user) {
        String json = """
                {"schema_version":1,"request_id":"%s","timestamp":"2026-11-27T08:00:00.000Z",\
                "service_name":"contoso-apim","service_region":"West Europe","gateway_id":"managed",\
                "api_id":"azure-openai","operation_id":"ChatCompletions_Create","product_id":"ai-standard",\
                "subscription_id":"sub-1","user_id":"%s","user_source":"token_claim","deployment":"gpt-4o",\
                "model":"gpt-4o-2024-08-06","api_version":"2024-10-21","operation_kind":"chat","stream":false,\
                "usage_source":"reported","status":200,"prompt_tokens":%d,"completion_tokens":50,\
                "total_tokens":%d,"cached_tokens":0,"reasoning_tokens":0,"duration_ms":800,"policy_version":"1.0.0"}"""
                .formatted(requestId(i), user, 100 + i, 150 + i);
        return json.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Record {@code i} as policy set 1.2.0 writes a streamed chat: the gateway's estimate (the prompt, no completion,
     * no model) and exact usage expected from the LLM log.
     */
    public static byte[] streamed(int i) {
        return new String(valid(i), StandardCharsets.UTF_8)
                .replace("\"schema_version\":1", "\"schema_version\":2")
                .replace("\"stream\":false,\"usage_source\":\"reported\"", "\"stream\":true,\"usage_source\":\"estimated\"")
                .replace("\"completion_tokens\":50", "\"completion_tokens\":0")
                .replace("\"model\":\"gpt-4o-2024-08-06\"", "\"model\":null")
                .replace("\"policy_version\":\"1.0.0\"", "\"policy_version\":\"1.2.0\",\"exact_expected\":true,"
                        + "\"include_usage\":\"injected\",\"backend_request_id\":null")
                .getBytes(StandardCharsets.UTF_8);
    }
}
