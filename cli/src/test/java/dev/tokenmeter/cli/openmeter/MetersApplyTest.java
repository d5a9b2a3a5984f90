package dev.tokenmeter.cli.openmeter;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenmeter.cli.CliRunner;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class MetersApplyTest {

    private final OpenMeterContractServer openmeter = OpenMeterContractServer.start();
    private final FakeMeters meters = new FakeMeters(openmeter);

    @AfterEach
    void stop() {
        openmeter.close();
    }

    private CliRunner.Result apply(String... extra) {
        String[] args = new String[4 + extra.length];
        args[0] = "openmeter";
        args[1] = "meters";
        args[2] = "apply";
        args[3] = "--openmeter-url=" + openmeter.baseUri();
        System.arraycopy(extra, 0, args, 4, extra.length);
        return new CliRunner().env("TOKENMETER_OPENMETER_TOKEN", "om-secret-token").run(args);
    }

    @Test
    void createsTheRequestMappingMetersOnceAndNeverPrintsTheToken() {
        CliRunner.Result first = apply();
        assertThat(first.exitCode()).as(first.err()).isZero();
        assertThat(meters.bySlug).containsOnlyKeys("tokenmeter_prompt_tokens", "tokenmeter_completion_tokens",
                "tokenmeter_cached_tokens", "tokenmeter_reasoning_tokens", "tokenmeter_total_tokens");
        ObjectNode prompt = meters.bySlug.get("tokenmeter_prompt_tokens");
        assertThat(prompt.get("aggregation").asText()).isEqualTo("SUM");
        assertThat(prompt.get("eventType").asText()).isEqualTo("tokens");
        assertThat(prompt.get("valueProperty").asText()).isEqualTo("$.prompt_tokens");
        // team chargeback (API, product, subscription) and reconcile (usage_source) group by what the events carry
        assertThat(prompt.get("groupBy").toString()).isEqualTo("{\"api\":\"$.api\",\"deployment\":\"$.deployment\","
                + "\"model\":\"$.model\",\"product\":\"$.product\",\"subscription\":\"$.subscription\","
                + "\"usage_source\":\"$.usage_source\"}");
        assertThat(first.out()).contains("created", "5 changed");
        assertThat(openmeter.requests()).allSatisfy(r ->
                assertThat(r.header("Authorization")).isEqualTo("Bearer om-secret-token"));

        CliRunner.Result second = apply();
        assertThat(second.exitCode()).isZero();
        assertThat(second.out()).contains("nothing to change").doesNotContain("created");
        assertThat(first.out() + first.err() + second.out() + second.err()).doesNotContain("om-secret-token");
        assertThat(openmeter.violations()).isEmpty();
    }

    @Test
    void createsTheLlmShapeMeterForThePerTokenTypeMapping() {
        CliRunner.Result r = apply("--mapping", "per-token-type", "--event-type", "llm-tokens", "-o", "json");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(meters.bySlug).containsOnlyKeys("tokenmeter_tokens");
        assertThat(meters.bySlug.get("tokenmeter_tokens").get("groupBy").toString())
                .isEqualTo("{\"deployment\":\"$.deployment\",\"model\":\"$.model\",\"type\":\"$.type\"}");
        assertThat(r.out()).contains("\"action\" : \"created\"");
        assertThat(openmeter.violations()).isEmpty();
    }

    @Test
    void updatesWhatCanChangeAndReportsWhatCannot() {
        ObjectMapper m = new ObjectMapper();
        ObjectNode oldGroups = m.createObjectNode().put("slug", "tokenmeter_prompt_tokens").put("name", "Prompt tokens")
                .put("description", "old").put("aggregation", "SUM").put("eventType", "tokens")
                .put("valueProperty", "$.prompt_tokens");
        oldGroups.putObject("groupBy").put("model", "$.model");
        meters.put(oldGroups);
        ObjectNode wrongType = m.createObjectNode().put("slug", "tokenmeter_total_tokens").put("aggregation", "COUNT")
                .put("eventType", "request");
        meters.put(wrongType);

        CliRunner.Result r = apply();
        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.out()).contains("tokenmeter_prompt_tokens", "updated", "tokenmeter_total_tokens", "conflict",
                "choose another --slug-prefix");
        assertThat(meters.bySlug.get("tokenmeter_prompt_tokens").get("groupBy").has("deployment")).isTrue();
        assertThat(openmeter.violations()).isEmpty();
    }

    @Test
    void saysWhatToDoWhenTheTokenIsRefused() {
        openmeter.route("GET", "/api/v1/meters", req -> OpenMeterContractServer.Reply.problem(401, "unauthorized"));
        CliRunner.Result r = apply();
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("HTTP 401", "TOKENMETER_OPENMETER_TOKEN").doesNotContain("om-secret-token");
    }

    @Test
    void aMissingUrlIsAUsageError() {
        CliRunner.Result r = new CliRunner().run("openmeter", "meters", "apply");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("TOKENMETER_OPENMETER_URL");
    }
}
