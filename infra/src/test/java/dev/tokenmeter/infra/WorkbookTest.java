package dev.tokenmeter.infra;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The Azure Monitor workbook (monitoring module): its resource against the workbooks 2023-06-01 schema, and its
 * queries against what the policies really emit, so a renamed dimension cannot leave the dashboards silently empty.
 */
class WorkbookTest {

    /**
     * The metric names azure-openai-emit-token-metric and llm-emit-token-metric write (Microsoft Learn,
     * azure-openai-emit-token-metric-policy: "Total Tokens", "Prompt Tokens", "Completion Tokens"); the policies fix
     * them, the fragments only choose namespace and dimensions.
     */
    private static final Set<String> EMITTED_METRICS = Set.of("Prompt Tokens", "Completion Tokens", "Total Tokens");
    private static final List<String> FRAGMENTS = List.of("tokenmeter-token-metrics.xml", "tokenmeter-token-metrics-llm.xml");
    /** AppMetrics: workspace-based Application Insights; the other two: APIM's resource-specific log tables. */
    private static final Set<String> TABLES = Set.of("AppMetrics", "ApiManagementGatewayLlmLog", "ApiManagementGatewayLogs");
    private static final Pattern DIMENSION = Pattern.compile("<dimension name=\"([^\"]+)\"");
    private static final Pattern PROPERTY = Pattern.compile("Properties\\[\"([^\"]+)\"\\]");
    private static final Pattern METRIC_NAME = Pattern.compile("Name (?:==|in) \\(?((?:\"[^\"]+\"(?:, )?)+)\\)?");
    private static final Pattern QUOTED = Pattern.compile("\"([^\"]+)\"");
    private static final Pattern TABLE = Pattern.compile("(?m)(?:^|\\(|join kind=\\w+ \\()\\s*([A-Z][A-Za-z]+)\\s*(?:\\n|\\|)");

    private static JsonNode monitoring() {
        return TemplateFiles.module("monitoring");
    }

    private static JsonNode workbookResource(JsonNode template) {
        for (JsonNode r : template.path("resources")) {
            if (r.path("type").asText().equals("Microsoft.Insights/workbooks")) {
                return r;
            }
        }
        throw new AssertionError("no Microsoft.Insights/workbooks in the monitoring module");
    }

    /** The workbook as ARM deploys it: serializedData evaluated, as Azure receives it, and parsed. */
    private static JsonNode deployedContent() throws IOException {
        JsonNode template = monitoring();
        ArmExpressions arm = new ArmExpressions(template, Map.of("location", "westeurope", "workspaceName", "tm-law",
                "appInsightsName", "tm-appi"));
        String serialized = arm.value(workbookResource(template).at("/properties/serializedData")).asText();
        return TemplateFiles.JSON.readTree(serialized);
    }

    private static List<String> queries(JsonNode content) {
        List<String> out = new ArrayList<>();
        for (JsonNode item : content.path("items")) {
            if (item.path("type").asInt() == 3) {
                out.add(item.at("/content/query").asText());
            }
        }
        return out;
    }

    private static Set<String> fragmentDimensions(String fragment) throws IOException {
        String xml = Files.readString(ProjectPaths.projectRoot().resolve("policies/fragments").resolve(fragment));
        assertThat(xml).as(fragment).containsAnyOf("<azure-openai-emit-token-metric ", "<llm-emit-token-metric ");
        Set<String> names = new TreeSet<>();
        Matcher m = DIMENSION.matcher(xml);
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    @Test
    void mainDeploysTheWorkbookCheckedAgainstItsSchema() {
        ArmTemplateValidator validator = new ArmTemplateValidator(ArmSchemaLibrary.get());
        Path main = TemplateFiles.main();
        assertThat(validator.validate(ProjectPaths.display(main), TemplateFiles.read(main))).isEmpty();
        assertThat(validator.checkedResources()).anySatisfy(s -> assertThat(s).startsWith("Microsoft.Insights/workbooks@2023-06-01"));
    }

    @Test
    void aMisspelledWorkbookPropertyIsCaught() {
        Path file = ProjectPaths.infra().resolve("modules/monitoring.json");
        ObjectNode template = (ObjectNode) TemplateFiles.read(file);
        ArmTemplateValidator validator = new ArmTemplateValidator(ArmSchemaLibrary.get());
        ObjectNode props = (ObjectNode) workbookResource(template).path("properties");
        props.set("displayname", props.remove("displayName"));
        assertThat(validator.validate(ProjectPaths.display(file), template)).extracting(Object::toString)
                .anySatisfy(f -> assertThat(f).contains("Microsoft.Insights/workbooks@2023-06-01", "displayname"));
    }

    @Test
    void theWorkbookIsSharedOnTheWorkspaceAndOnlyWithApplicationInsights() throws IOException {
        JsonNode template = monitoring();
        JsonNode r = workbookResource(template);
        Map<String, Object> with = Map.of("location", "westeurope", "workspaceName", "tm-law", "appInsightsName", "tm-appi");
        assertThat(new ArmExpressions(template, with).deploys(r)).isTrue();
        assertThat(new ArmExpressions(template, Map.of("workspaceName", "tm-law", "appInsightsName", "")).deploys(r)).isFalse();
        assertThat(new ArmExpressions(template, Map.of("workspaceName", "tm-law", "appInsightsName", "tm-appi",
                "workbook", false)).deploys(r)).isFalse();
        ArmExpressions arm = new ArmExpressions(template, with);
        assertThat(r.path("kind").asText()).isEqualTo("shared");
        assertThat(arm.value(r.at("/properties/sourceId")).asText()).endsWith("/providers/Microsoft.OperationalInsights/workspaces/tm-law");
        JsonNode content = deployedContent();
        assertThat(content.path("version").asText()).isEqualTo(r.at("/properties/version").asText()).isEqualTo("Notebook/1.0");
        assertThat(content.path("fallbackResourceIds").get(0).asText()).endsWith("/workspaces/tm-law");
        for (JsonNode item : content.path("items")) {
            if (item.path("type").asInt() == 3) {
                assertThat(item.at("/content/resourceType").asText()).as(item.path("name").asText())
                        .isEqualTo("microsoft.operationalinsights/workspaces");
                assertThat(item.at("/content/timeContextFromParameter").asText()).isEqualTo("TimeRange");
            }
        }
        // main.json passes its switch through
        JsonNode main = TemplateFiles.read(TemplateFiles.main());
        for (JsonNode d : main.path("resources")) {
            if (d.path("name").asText().equals("tokenmeter-monitoring")) {
                assertThat(d.at("/properties/parameters/workbook/value").asText()).isEqualTo("[parameters('deployWorkbook')]");
            }
        }
    }

    @Test
    void everyQueryUsesExactlyTheMetricNamesAndDimensionsThePoliciesEmit() throws IOException {
        Set<String> emitted = null;
        for (String fragment : FRAGMENTS) {
            Set<String> dims = fragmentDimensions(fragment);
            if (emitted != null) {
                assertThat(dims).as("both token metric fragments emit the same dimensions").isEqualTo(emitted);
            }
            emitted = dims;
        }
        Set<String> usedDimensions = new TreeSet<>();
        Set<String> usedMetrics = new TreeSet<>();
        Set<String> usedTables = new TreeSet<>();
        for (String q : queries(deployedContent())) {
            Matcher p = PROPERTY.matcher(q);
            while (p.find()) {
                usedDimensions.add(p.group(1));
            }
            Matcher n = METRIC_NAME.matcher(q);
            while (n.find()) {
                Matcher quoted = QUOTED.matcher(n.group(1));
                while (quoted.find()) {
                    usedMetrics.add(quoted.group(1));
                }
            }
            Matcher t = TABLE.matcher(q);
            while (t.find()) {
                usedTables.add(t.group(1));
            }
            if (q.contains("AppMetrics")) {
                assertThat(q).as("a token metric query filters by metric name").containsPattern("Name (==|in)");
            }
        }
        assertThat(usedDimensions).as("dimensions the workbook reads").isEqualTo(emitted);
        assertThat(EMITTED_METRICS).as("metric names the workbook reads").containsAll(usedMetrics);
        assertThat(usedMetrics).contains("Prompt Tokens", "Completion Tokens");
        assertThat(usedTables).as("tables the workbook reads").isEqualTo(TABLES);
    }

    @Test
    void theLlmLogTablesTheWorkbookReadsAreSentToTheWorkspace() {
        JsonNode apim = TemplateFiles.module("apim");
        JsonNode setting = null;
        for (JsonNode r : apim.path("resources")) {
            if (r.path("type").asText().equals("Microsoft.Insights/diagnosticSettings") && r.at("/properties/workspaceId").isTextual()) {
                setting = r;
            }
        }
        assertThat(setting).as("a diagnostic setting to the workspace").isNotNull();
        // resource-specific tables: ApiManagementGatewayLlmLog and ApiManagementGatewayLogs, not AzureDiagnostics
        assertThat(setting.at("/properties/logAnalyticsDestinationType").asText()).isEqualTo("Dedicated");
        List<String> categories = new ArrayList<>();
        setting.at("/properties/logs").forEach(l -> categories.add(l.path("category").asText()));
        assertThat(categories).containsExactlyInAnyOrder("GatewayLlmLogs", "GatewayLogs");
        Map<String, Object> on = Map.of("apimServiceName", "apim1", "llmLogs", true, "workspaceResourceId", "/ws");
        assertThat(new ArmExpressions(apim, on).deploys(setting)).isTrue();
        assertThat(new ArmExpressions(apim, Map.of("apimServiceName", "apim1", "llmLogs", true)).deploys(setting)).isFalse();
        JsonNode main = TemplateFiles.read(TemplateFiles.main());
        for (JsonNode d : main.path("resources")) {
            if (d.path("name").asText().equals("tokenmeter-apim")) {
                assertThat(d.at("/properties/parameters/workspaceResourceId/value").asText())
                        .contains("parameters('llmLogsToWorkspace')", "outputs.workspaceResourceId.value");
            }
        }
    }
}
