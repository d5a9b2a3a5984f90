package dev.tokenmeter.cli.policy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A small policy set in a temporary directory, in the manifest format of policies/policy-set.json. */
final class PolicySetFixture {

    /** A limits fragment body that does nothing, for tests about deployment rather than limits. */
    static final String NO_LIMITS = "<set-variable name=\"tm-limit\" value=\"none\" />";

    static void write(Path dir, String version, String limitsBody) throws IOException {
        Files.createDirectories(dir.resolve("fragments"));
        Files.createDirectories(dir.resolve("apis"));
        Files.writeString(dir.resolve("fragments/tm-identity.xml"), """
                <fragment>
                	<set-variable name="tm-policy-version" value="%s" />
                	<set-variable name="tm-user-id" value="@(context.Request.Headers.GetValueOrDefault("x-user-id", "anonymous"))" />
                </fragment>
                """.formatted(version));
        Files.writeString(dir.resolve("fragments/tm-limits.xml"), "<fragment>\n\t" + limitsBody + "\n</fragment>\n");
        Files.writeString(dir.resolve("apis/openai.xml"), """
                <policies>
                	<inbound>
                		<base />
                		<include-fragment fragment-id="tm-identity" />
                		<include-fragment fragment-id="tm-limits" />
                	</inbound>
                	<backend><base /></backend>
                	<outbound><base /></outbound>
                	<on-error><base /></on-error>
                </policies>
                """);
        Files.writeString(dir.resolve("policy-set.json"), """
                {
                  "name": "tokenmeter",
                  "version": "%1$s",
                  "description": "test set",
                  "format": "rawxml",
                  "minimumApimApiVersion": "2024-05-01",
                  "fragments": [
                    {"id": "tm-identity", "file": "fragments/tm-identity.xml", "section": "inbound", "description": "tokenmeter %1$s: who"},
                    {"id": "tm-limits", "file": "fragments/tm-limits.xml", "section": "inbound", "description": "tokenmeter %1$s: limits"}
                  ],
                  "policies": [{"file": "apis/openai.xml", "scope": "api", "description": "example"}],
                  "namedValues": [
                    {"name": "tokenmeter-tokens-per-minute", "meaning": "tpm", "default": "10000", "secret": false}
                  ],
                  "loggers": [{"id": "tokenmeter-usage", "type": "azureEventHub", "meaning": "usage records"}]
                }
                """.formatted(version));
    }

    private PolicySetFixture() {
    }
}
