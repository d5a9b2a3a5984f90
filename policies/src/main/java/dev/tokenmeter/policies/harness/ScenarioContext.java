package dev.tokenmeter.policies.harness;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a scenario into the APIM context the host builds: a fixed APIM service, API and clock, the scenario's caller
 * and gateway (managed unless the scenario names a self-hosted one).
 */
public final class ScenarioContext {

    public static final String SERVICE = "contoso-apim";
    public static final String REGION = "West Europe";
    /** context.Deployment.GatewayId of the managed gateway, the default for every scenario. */
    public static final String GATEWAY = "managed";
    public static final String API_ID = "azure-openai";
    public static final String TIMESTAMP = "2026-11-27T08:01:12.347Z";
    public static final long ELAPSED_MS = 1834;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern DEPLOYMENT = Pattern.compile("/deployments/([^/]+)/");

    private ScenarioContext() {
    }

    static String operationId(Scenario s) {
        String path = s.url().replaceAll("\\?.*", "");
        if (path.endsWith("/chat/completions")) {
            return "ChatCompletions_Create";
        }
        if (path.endsWith("/completions")) {
            return "Completions_Create";
        }
        if (path.endsWith("/embeddings")) {
            return "embeddings_create";
        }
        return path.endsWith("/responses") ? "createResponse" : "other";
    }

    static ObjectNode toJson(Scenario s) {
        ObjectNode ctx = JSON.createObjectNode();
        ctx.put("requestId", PolicyRunner.requestId(s).toString());
        ctx.put("timestamp", TIMESTAMP);
        ctx.put("elapsedMs", ELAPSED_MS);
        ctx.putObject("deployment").put("ServiceName", SERVICE).put("Region", REGION).put("GatewayId", s.gatewayId())
                .put("ServiceId", "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ApiManagement/service/" + SERVICE);
        ctx.putObject("api").put("Id", API_ID).put("Name", "Azure OpenAI").put("Path", "openai").put("IsCurrentRevision", true);
        ctx.putObject("operation").put("Id", operationId(s)).put("Method", s.method()).put("Name", operationId(s));
        if (s.subscription() != null && s.subscription().productId() != null) {
            ctx.putObject("product").put("Id", s.subscription().productId()).put("Name", s.subscription().productId());
        } else {
            ctx.putNull("product");
        }
        if (s.subscription() != null) {
            ctx.putObject("subscription").put("Id", s.subscription().id()).put("Name", s.subscription().id()).put("Key", "k-" + s.subscription().id());
        } else {
            ctx.putNull("subscription");
        }
        if (s.apimUserId() != null) {
            ctx.putObject("user").put("Id", s.apimUserId()).put("Email", s.apimUserId() + "@contoso.example");
        } else {
            ctx.putNull("user");
        }
        ObjectNode request = ctx.putObject("request");
        request.put("method", s.method()).put("url", s.url()).put("body", s.body()).put("ipAddress", "203.0.113.7");
        request.set("headers", JSON.valueToTree(s.headers()));
        ObjectNode matched = request.putObject("matchedParameters");
        Matcher m = DEPLOYMENT.matcher(s.url());
        if (m.find()) {
            matched.put("deployment-id", m.group(1));
        }
        return ctx;
    }
}
