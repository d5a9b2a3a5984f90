package dev.tokenmeter.infra;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Every shipped template and parameters file against Microsoft's schemas (see ArmSchemaLibrary for how). */
class TemplateSchemaTest {

    @TestFactory
    Stream<DynamicTest> everyTemplateAndEveryResourceInItMatchesItsSchema() {
        return TemplateFiles.templates().stream().map(file -> DynamicTest.dynamicTest(ProjectPaths.display(file), () -> {
            ArmTemplateValidator validator = new ArmTemplateValidator(ArmSchemaLibrary.get());
            List<ArmTemplateValidator.Finding> findings = validator.validate(ProjectPaths.display(file), TemplateFiles.read(file));
            assertThat(findings).as(() -> "schema findings:\n" + findings.stream().map(Object::toString)
                    .collect(Collectors.joining("\n"))).isEmpty();
            // a validator that skipped everything would pass too: every template here deploys resources
            assertThat(validator.checkedResources()).as("resources checked against a schema in " + file.getFileName())
                    .isNotEmpty();
        }));
    }

    @TestFactory
    Stream<DynamicTest> everyParametersFileMatchesTheParametersSchema() {
        return TemplateFiles.parameterFiles().stream().map(file -> DynamicTest.dynamicTest(ProjectPaths.display(file), () -> {
            List<ArmTemplateValidator.Finding> findings = new ArmTemplateValidator(ArmSchemaLibrary.get())
                    .validateParametersFile(ProjectPaths.display(file), TemplateFiles.read(file));
            assertThat(findings).as(() -> findings.stream().map(Object::toString).collect(Collectors.joining("\n"))).isEmpty();
        }));
    }

    @Test
    void mainReachesEveryResourceOfEveryModuleThroughItsNestedDeployments() {
        ArmTemplateValidator validator = new ArmTemplateValidator(ArmSchemaLibrary.get());
        Path main = TemplateFiles.main();
        validator.validate(ProjectPaths.display(main), TemplateFiles.read(main));
        List<String> types = validator.checkedResources().stream().map(s -> s.substring(0, s.indexOf(" -> "))).toList();
        assertThat(types).contains(
                "Microsoft.EventHub/namespaces@2024-01-01",
                "Microsoft.EventHub/namespaces/eventhubs@2024-01-01",
                "Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01",
                "Microsoft.Storage/storageAccounts@2025-01-01",
                "Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01",
                "Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30",
                "Microsoft.Authorization/roleAssignments@2022-04-01",
                "Microsoft.OperationalInsights/workspaces@2025-02-01",
                "Microsoft.Insights/components@2020-02-02",
                "Microsoft.App/managedEnvironments@2025-07-01",
                "Microsoft.App/containerApps@2025-07-01",
                "Microsoft.ApiManagement/service/loggers@2024-05-01",
                "Microsoft.ApiManagement/service/diagnostics@2024-05-01",
                // issue 10: LLM logs exported to the diagnostic hub
                "Microsoft.EventHub/namespaces/authorizationRules@2024-01-01",
                "Microsoft.ApiManagement/service/diagnostics@2024-06-01-preview",
                "Microsoft.Insights/diagnosticSettings@2021-05-01-preview",
                // issue 14: the workbook
                "Microsoft.Insights/workbooks@2023-06-01");
    }
}
