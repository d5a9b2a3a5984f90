package dev.tokenmeter.cli.policy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.tokenmeter.cli.CliRunner;
import dev.tokenmeter.testkit.ArmContractServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** An API with its own policy keeps it: deploy adds the set's include-fragment lines where they belong, once. */
class OwnApiPolicyTest {

    private static final String SERVICE = "/subscriptions/sub1/resourceGroups/rg/providers/Microsoft.ApiManagement/service/apim";
    private static final String POLICY = SERVICE + "/apis/azure-openai/policies/policy";

    /** The team's policy: CORS, backend routing with an expression holding '<' and a generic type, its own rules. */
    private static final String TEAMS_POLICY = """
            <policies>
            	<inbound>
            		<cors allow-credentials="true">
            			<allowed-origins><origin>https://chat.contoso.com</origin></allowed-origins>
            			<allowed-methods><method>POST</method></allowed-methods>
            		</cors>
            		<base />
            		<!-- the team's own rule -->
            		<set-header name="x-team" exists-action="override"><value>@(context.Request.Headers.GetValueOrDefault("x-team", "none"))</value></set-header>
            		<set-backend-service backend-id="@(context.Request.Url.Query.GetValueOrDefault("region", "") == "eu" && 1 < 2 ? "aoai-eu" : "aoai-us")" />
            	</inbound>
            	<backend>
            		<forward-request timeout="120" />
            	</backend>
            	<outbound>
            		<base />
            		<set-body>@{ var parts = new List<string>(); parts.Add("x"); return context.Response.Body.As<string>(preserveContent: true); }</set-body>
            	</outbound>
            </policies>
            """;

    private final ArmContractServer arm = ArmContractServer.start();
    @TempDir
    Path tmp;

    @AfterEach
    void stop() {
        arm.close();
    }

    private CliRunner.Result run(String command, String... extra) throws Exception {
        Path set = tmp.resolve("set");
        if (!Files.exists(set)) {
            PolicySetFixture.write(set, "1.0.0", PolicySetFixture.NO_LIMITS);
            // the set's own document also has an outbound include, and one before <base /> in on-error
            Path manifest = set.resolve("policy-set.json");
            Files.writeString(manifest, Files.readString(manifest)
                    .replace("\"section\": \"inbound\", \"description\": \"tokenmeter 1.0.0: who\"",
                            "\"section\": \"inbound\", \"alsoIn\": [\"on-error\"], \"description\": \"tokenmeter 1.0.0: who\"")
                    .replace("\"section\": \"inbound\", \"description\": \"tokenmeter 1.0.0: limits\"",
                            "\"section\": \"inbound\", \"alsoIn\": [\"outbound\"], \"description\": \"tokenmeter 1.0.0: limits\""));
            Files.writeString(set.resolve("apis/openai.xml"), """
                    <policies>
                    	<inbound>
                    		<base />
                    		<include-fragment fragment-id="tm-identity" />
                    		<include-fragment fragment-id="tm-limits" />
                    	</inbound>
                    	<backend><base /></backend>
                    	<outbound>
                    		<base />
                    		<include-fragment fragment-id="tm-limits" />
                    	</outbound>
                    	<on-error>
                    		<include-fragment fragment-id="tm-identity" />
                    		<base />
                    	</on-error>
                    </policies>
                    """);
        }
        List<String> args = new ArrayList<>(List.of("policy", command, "--dir", set.toString(), "--subscription", "sub1",
                "--resource-group", "rg", "--service", "apim", "--arm-endpoint", arm.baseUri().toString(),
                "--scope", "api:azure-openai"));
        if (command.equals("deploy")) {
            args.addAll(List.of("--state-dir", tmp.resolve("state").toString(), "--eventhub", "usage", "--eventhub-namespace", "ehns.servicebus.windows.net"));
        }
        args.addAll(List.of(extra));
        return new CliRunner().run(args.toArray(String[]::new));
    }

    private void teamPolicy(String value) {
        // as the team's edit in the portal
        arm.changeOnServer(POLICY, JsonNodeFactory.instance.objectNode().put("value", value));
    }

    private String deployed() {
        return arm.properties(POLICY).orElseThrow().get("value").asText();
    }

    @Test
    void insertsTheIncludesAtTheirSectionsAndKeepsEverythingElseIdempotently() throws Exception {
        CliRunner.Result first = run("deploy");
        assertThat(first.exitCode()).as(first.err()).isZero();
        teamPolicy(TEAMS_POLICY);

        CliRunner.Result plan = run("deploy", "--dry-run");
        assertThat(plan.exitCode()).as(plan.err()).isEqualTo(3);
        assertThat(plan.out()).contains("update    policy api:azure-openai", "+<include-fragment fragment-id=\"tm-identity\" />");
        assertThat(plan.out().lines().filter(l -> l.startsWith("-") && !l.startsWith("---")).toList())
                .as("nothing of the team's policy is removed").isEmpty();

        CliRunner.Result deployed = run("deploy");
        assertThat(deployed.exitCode()).as(deployed.err()).isZero();
        assertThat(deployed.out()).contains("updated policy api:azure-openai");
        assertThat(ApiPolicyMergeTest.normalized(deployed())).isEqualTo(ApiPolicyMergeTest.normalized("""
                <policies>
                	<inbound>
                		<cors allow-credentials="true">
                			<allowed-origins><origin>https://chat.contoso.com</origin></allowed-origins>
                			<allowed-methods><method>POST</method></allowed-methods>
                		</cors>
                		<base />
                		<include-fragment fragment-id="tm-identity" />
                		<include-fragment fragment-id="tm-limits" />
                		<!-- the team's own rule -->
                		<set-header name="x-team" exists-action="override"><value>@(context.Request.Headers.GetValueOrDefault("x-team", "none"))</value></set-header>
                		<set-backend-service backend-id="@(context.Request.Url.Query.GetValueOrDefault("region", "") == "eu" && 1 < 2 ? "aoai-eu" : "aoai-us")" />
                	</inbound>
                	<backend>
                		<forward-request timeout="120" />
                	</backend>
                	<outbound>
                		<base />
                		<include-fragment fragment-id="tm-limits" />
                		<set-body>@{ var parts = new List<string>(); parts.Add("x"); return context.Response.Body.As<string>(preserveContent: true); }</set-body>
                	</outbound>
                	<on-error>
                		<include-fragment fragment-id="tm-identity" />
                		<base />
                	</on-error>
                </policies>
                """));

        int writes = writes();
        CliRunner.Result again = run("deploy");
        assertThat(again.out()).contains("Nothing to change");
        assertThat(writes()).isEqualTo(writes);
        assertThat(run("diff").exitCode()).isZero();
        // the team changes its own rule: that is theirs, not drift of the set
        teamPolicy(deployed().replace("https://chat.contoso.com", "https://chat2.contoso.com"));
        assertThat(run("diff").exitCode()).isZero();
        assertThat(arm.violations()).isEmpty();
    }

    @Test
    void anOlderVersionOfTheIncludesIsUpdatedNotDuplicated() throws Exception {
        CliRunner.Result first = run("deploy");
        assertThat(first.exitCode()).as(first.err()).isZero();
        // an earlier set included only the identity, and further down
        teamPolicy("""
                <policies>
                	<inbound>
                		<base />
                		<rate-limit calls="100" renewal-period="60" />
                		<include-fragment fragment-id="tm-identity" />
                	</inbound>
                	<backend><base /></backend>
                	<outbound><base /></outbound>
                	<on-error><base /></on-error>
                </policies>
                """);
        CliRunner.Result merged = run("deploy");
        assertThat(merged.exitCode()).as(merged.err()).isZero();
        String value = deployed();
        assertThat(value.split("fragment-id=\"tm-identity\"", -1)).hasSize(3); // inbound and on-error, once each
        assertThat(ApiPolicyMergeTest.normalized(value)).contains("<base />\n<include-fragment fragment-id=\"tm-identity\" />\n"
                + "<include-fragment fragment-id=\"tm-limits\" />\n<rate-limit calls=\"100\" renewal-period=\"60\" />\n</inbound>");
        assertThat(arm.violations()).isEmpty();
    }

    @Test
    void policyFileIsDeployedAsGivenAfterValidation() throws Exception {
        Path own = tmp.resolve("own-policy.xml");
        Files.writeString(own, """
                <policies>
                	<inbound>
                		<base />
                		<include-fragment fragment-id="tm-identity" />
                		<set-header name="x-own" exists-action="override"><value>yes</value></set-header>
                	</inbound>
                	<backend><base /></backend>
                	<outbound><base /></outbound>
                	<on-error><base /></on-error>
                </policies>
                """);
        CliRunner.Result r = run("deploy", "--policy", own.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(deployed()).contains("x-own").doesNotContain("tm-limits");
        assertThat(run("diff", "--policy", own.toString()).exitCode()).isZero();

        Path broken = tmp.resolve("broken.xml");
        Files.writeString(broken, Files.readString(own).replace("tm-identity", "tm-unknown"));
        int requests = arm.requests().size();
        CliRunner.Result refused = run("deploy", "--policy", broken.toString());
        assertThat(refused.exitCode()).isEqualTo(1);
        assertThat(refused.err()).contains(broken.toString(), "tm-unknown", "deploy refused");
        assertThat(arm.requests()).hasSize(requests);
        assertThat(arm.violations()).isEmpty();
    }

    private int writes() {
        return (int) arm.requests().stream().filter(r -> !r.method().equals("GET")).count();
    }
}
