package dev.tokenmeter.cli.policy;

import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.apim.ApimResource;
import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The merge of the set's include-fragment lines into a policy someone else wrote. */
class ApiPolicyMergeTest {

    private static final Set<String> OURS = Set.of("tm-identity", "tm-limits", "tm-usage-log");
    private static final String SET_POLICY = """
            <policies>
            	<inbound>
            		<base />
            		<include-fragment fragment-id="tm-identity" />
            		<include-fragment fragment-id="tm-limits" />
            	</inbound>
            	<outbound>
            		<base />
            		<include-fragment fragment-id="tm-usage-log" />
            	</outbound>
            	<on-error>
            		<base />
            		<include-fragment fragment-id="tm-usage-log" />
            	</on-error>
            </policies>
            """;

    static String normalized(String xml) {
        return ApimResource.normalizeXml(xml);
    }

    @Test
    void addsMissingSectionsInTheirOrderAndKeepsTheTeamsIndentation() {
        String merged = ApiPolicyMerge.merge("<policies>\n  <inbound>\n    <base />\n    <set-header name=\"a\" exists-action=\"override\"><value>b</value></set-header>\n  </inbound>\n  <backend>\n    <base />\n  </backend>\n</policies>\n",
                SET_POLICY, OURS);
        assertThat(merged).isEqualTo("<policies>\n  <inbound>\n    <base />\n    <include-fragment fragment-id=\"tm-identity\" />\n"
                + "    <include-fragment fragment-id=\"tm-limits\" />\n    <set-header name=\"a\" exists-action=\"override\"><value>b</value></set-header>\n"
                + "  </inbound>\n  <backend>\n    <base />\n  </backend>\n"
                + "  <outbound>\n    <base />\n    <include-fragment fragment-id=\"tm-usage-log\" />\n  </outbound>\n"
                + "  <on-error>\n    <base />\n    <include-fragment fragment-id=\"tm-usage-log\" />\n  </on-error>\n</policies>\n");
        assertThat(ApiPolicyMerge.merge(merged, SET_POLICY, OURS)).isEqualTo(merged);
    }

    @Test
    void includesNestedInTheTeamsOwnLogicAndOtherFragmentsAreLeftAlone() {
        String team = """
                <policies>
                	<inbound>
                		<include-fragment fragment-id="team-auth" />
                		<choose>
                			<when condition="@(context.Request.Method == "POST")">
                				<include-fragment fragment-id="tm-limits" />
                			</when>
                		</choose>
                	</inbound>
                	<outbound><base /></outbound>
                	<on-error />
                </policies>
                """;
        String merged = normalized(ApiPolicyMerge.merge(team, SET_POLICY, OURS));
        assertThat(merged).startsWith("<policies>\n<inbound>\n<include-fragment fragment-id=\"tm-identity\" />\n"
                + "<include-fragment fragment-id=\"tm-limits\" />\n<include-fragment fragment-id=\"team-auth\" />\n<choose>");
        assertThat(merged).contains("<include-fragment fragment-id=\"tm-limits\" />\n</when>",
                "<outbound><base /><include-fragment fragment-id=\"tm-usage-log\" /></outbound>",
                // no <base /> is added where the team left it out: that would inherit what they chose not to
                "<on-error>\n<include-fragment fragment-id=\"tm-usage-log\" />\n</on-error>");
    }

    @Test
    void aPolicyThatIsNotAPolicyDocumentIsNamed() {
        assertThatThrownBy(() -> ApiPolicyMerge.merge("<policy><inbound/></policy>", SET_POLICY, OURS))
                .isInstanceOf(CliFailure.class).hasMessageContaining("<policies>");
        assertThatThrownBy(() -> ApiPolicyMerge.merge("<policies><inbound><base /></policies>", SET_POLICY, OURS))
                .isInstanceOf(CliFailure.class).hasMessageContaining("inbound");
    }
}
