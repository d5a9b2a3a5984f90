package dev.tokenmeter.infra;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * The validation must fail for the mistakes it exists to catch, and say where: each case breaks one shipped file in
 * memory and expects a finding that names the file, the resource and the JSON path of the mistake.
 */
class NegativeSchemaTest {

    private final ArmTemplateValidator validator = new ArmTemplateValidator(ArmSchemaLibrary.get());

    @Test
    void misspelledPropertyIsRejected() {
        List<ArmTemplateValidator.Finding> findings = breakAndValidate("eventhubs.json", t -> {
            ObjectNode props = (ObjectNode) t.at("/resources/1/properties");
            props.set("partitionCont", props.remove("partitionCount"));
        });
        assertThat(findings).hasSize(1);
        assertThat(findings.get(0).toString())
                .startsWith("infra/modules/eventhubs.json: resource Microsoft.EventHub/namespaces/eventhubs@2024-01-01")
                .contains("at /resources/1/properties/partitionCont:")
                .contains("partitionCont");
    }

    @Test
    void wrongEnumValueIsRejected() {
        List<ArmTemplateValidator.Finding> findings = breakAndValidate("storage.json", t ->
                ((ObjectNode) t.at("/resources/2/properties")).put("publicAccess", "Private"));
        assertThat(findings).hasSize(1);
        assertThat(findings.get(0).toString())
                .startsWith("infra/modules/storage.json: resource Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01")
                .contains("at /resources/2/properties/publicAccess:")
                .contains("enumeration");
    }

    @Test
    void missingRequiredPropertyIsRejected() {
        List<ArmTemplateValidator.Finding> findings = breakAndValidate("apim.json", t ->
                ((ObjectNode) t.at("/resources/0/properties")).remove("loggerType"));
        assertThat(findings).hasSize(1);
        assertThat(findings.get(0).toString())
                .startsWith("infra/modules/apim.json: resource Microsoft.ApiManagement/service/loggers@2024-05-01")
                .contains("at /resources/0/properties/loggerType:")
                .contains("required");
    }

    @Test
    void mistakesInsideMainsInlineTemplatesAreFoundAtTheirPathInMain() {
        Path main = TemplateFiles.main();
        ObjectNode template = (ObjectNode) TemplateFiles.read(main);
        JsonNode eventHubs = null;
        int index = -1;
        for (int i = 0; i < template.get("resources").size(); i++) {
            if (template.get("resources").get(i).path("name").asText().equals("tokenmeter-eventhubs")) {
                eventHubs = template.get("resources").get(i);
                index = i;
            }
        }
        assertThat(eventHubs).as("tokenmeter-eventhubs deployment in main.json").isNotNull();
        ((ObjectNode) eventHubs.at("/properties/template/resources/2/properties")).put("userMetdata", "x");
        List<ArmTemplateValidator.Finding> findings = validator.validate(ProjectPaths.display(main), template);
        assertThat(findings).extracting(Object::toString).singleElement().asString()
                .startsWith("infra/main.json: resource Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01")
                .contains("at /resources/" + index + "/properties/template/resources/2/properties/userMetdata:");
    }

    @Test
    void misspelledTemplateLevelKeysAreRejectedToo() {
        List<ArmTemplateValidator.Finding> findings = breakAndValidate("eventhubs.json", t -> {
            ObjectNode hub = (ObjectNode) t.at("/resources/1");
            hub.set("dependOn", hub.remove("dependsOn"));
            ((ObjectNode) t.at("/parameters/partitionCount")).set("defualtValue", ((ObjectNode) t.at("/parameters/partitionCount")).remove("defaultValue"));
        });
        assertThat(findings).extracting(Object::toString).containsExactlyInAnyOrder(
                "infra/modules/eventhubs.json: template, at /parameters/partitionCount/defualtValue: "
                        + "property 'defualtValue' is not evaluated and the schema does not allow unevaluated properties",
                "infra/modules/eventhubs.json: resource Microsoft.EventHub/namespaces/eventhubs@2024-01-01 named "
                        + "\"[format('{0}/{1}', parameters('namespaceName'), parameters('hubName'))]\", at /resources/1/dependOn: "
                        + "property 'dependOn' is not evaluated and the schema does not allow unevaluated properties");
    }

    @Test
    void anExpressionIsAcceptedWhereALiteralWouldHaveToMatchTheSchema() {
        assertThat(breakAndValidate("storage.json", t ->
                ((ObjectNode) t.at("/resources/2/properties")).put("publicAccess", "[parameters('access')]"))).isEmpty();
        // escaped "[[" is a literal string in ARM, not an expression
        assertThat(breakAndValidate("storage.json", t ->
                ((ObjectNode) t.at("/resources/2/properties")).put("publicAccess", "[[None]"))).hasSize(1);
    }

    @Test
    void aTypeOrApiVersionWithoutSchemaFailsUnlessAllowListed() {
        List<ArmTemplateValidator.Finding> findings = breakAndValidate("eventhubs.json", t ->
                ((ObjectNode) t.at("/resources/1")).put("apiVersion", "2017-04-01"));
        assertThat(findings).extracting(Object::toString).singleElement().asString()
                .contains("at /resources/1:")
                .contains("no schema for Microsoft.EventHub/namespaces/eventhubs at api-version 2017-04-01");
    }

    @Test
    void childrenDeclaredInsideTheirParentAreValidatedToo() {
        List<ArmTemplateValidator.Finding> findings = breakAndValidate("eventhubs.json", t -> {
            ObjectNode hub = (ObjectNode) t.at("/resources/1");
            ObjectNode child = hub.putArray("resources").addObject();
            child.put("type", "consumergroups").put("apiVersion", "2024-01-01").put("name", "audit");
            child.putObject("properties").put("userMetadta", "x");
        });
        assertThat(findings).extracting(Object::toString).singleElement().asString()
                .startsWith("infra/modules/eventhubs.json: resource consumergroups@2024-01-01 named \"audit\"")
                .contains("at /resources/1/resources/0/properties/userMetadta:");
    }

    @Test
    void theLlmLoggingSettingsAreCheckedAgainstThePreviewSchema() {
        int diagnostic = indexOf("apim.json", "Microsoft.ApiManagement/service/diagnostics", "2024-06-01-preview");
        String at = "/resources/" + diagnostic + "/properties/largeLanguageModel";
        List<ArmTemplateValidator.Finding> misspelled = breakAndValidate("apim.json", t -> {
            ObjectNode llm = (ObjectNode) t.at(at);
            llm.set("log", llm.remove("logs"));
        });
        assertThat(misspelled).extracting(Object::toString).singleElement().asString()
                .startsWith("infra/modules/apim.json: resource Microsoft.ApiManagement/service/diagnostics@2024-06-01-preview")
                .contains("at " + at + "/log:");
        // logs is "enabled"/"disabled", not a bool
        List<ArmTemplateValidator.Finding> wrongType = breakAndValidate("apim.json", t ->
                ((ObjectNode) t.at(at)).put("logs", true));
        assertThat(wrongType).extracting(Object::toString).isNotEmpty()
                .allSatisfy(f -> assertThat(f).contains("at " + at + "/logs:"));
    }

    @Test
    void theDiagnosticSettingIsCheckedAgainstItsSchema() {
        int setting = indexOf("apim.json", "Microsoft.Insights/diagnosticSettings", "2021-05-01-preview");
        String at = "/resources/" + setting + "/properties";
        List<ArmTemplateValidator.Finding> findings = breakAndValidate("apim.json", t -> {
            ObjectNode props = (ObjectNode) t.at(at);
            props.set("eventHubAuthorizationRule", props.remove("eventHubAuthorizationRuleId"));
        });
        assertThat(findings).extracting(Object::toString).singleElement().asString()
                .startsWith("infra/modules/apim.json: resource Microsoft.Insights/diagnosticSettings@2021-05-01-preview")
                .contains("at " + at + "/eventHubAuthorizationRule:");
    }

    private static int indexOf(String module, String type, String apiVersion) {
        JsonNode resources = TemplateFiles.read(ProjectPaths.infra().resolve("modules").resolve(module)).path("resources");
        for (int i = 0; i < resources.size(); i++) {
            if (resources.get(i).path("type").asText().equals(type) && resources.get(i).path("apiVersion").asText().equals(apiVersion)) {
                return i;
            }
        }
        throw new AssertionError("no " + type + "@" + apiVersion + " in " + module);
    }

    private List<ArmTemplateValidator.Finding> breakAndValidate(String module, Consumer<ObjectNode> breakIt) {
        Path file = ProjectPaths.infra().resolve("modules").resolve(module);
        ObjectNode template = (ObjectNode) TemplateFiles.read(file);
        assertThat(validator.validate(ProjectPaths.display(file), template)).as("the unbroken file is valid").isEmpty();
        breakIt.accept(template);
        return validator.validate(ProjectPaths.display(file), template);
    }
}
