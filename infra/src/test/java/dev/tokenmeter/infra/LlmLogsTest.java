package dev.tokenmeter.infra;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Issue 10 in the templates: APIM's LLM logs exported to a diagnostic hub, the re-key stage that republishes their
 * token counts to the usage hub, and the bridge's join, all behind the one llmLogs switch. Conditions, thresholds
 * and scopes are evaluated ({@link ArmExpressions}) with sample arguments, so the checks are about what Azure would
 * be asked to create, not about how the expressions are written.
 */
class LlmLogsTest {

    private static final List<String> MODULES = List.of("eventhubs", "storage", "identity", "containerapp", "apim");
    private static final Pattern ROLE_REF = Pattern.compile("variables\\('roleDefinitionIds'\\)(?:\\['([^']+)'\\]|\\.(\\w+))");

    /** Arguments for every module's parameters that the checks below read; everything else keeps its default. */
    private static Map<String, Object> sampleArguments(boolean llmLogs) {
        Map<String, Object> args = new HashMap<>();
        args.put("llmLogs", llmLogs);
        args.put("location", "westeurope");
        args.put("namespaceName", "tmns");
        args.put("eventHubsNamespaceName", "tmns");
        args.put("hubName", "apim-usage");
        args.put("consumerGroupName", "tokenmeter-bridge");
        args.put("diagnosticsHubName", "apim-llm-logs");
        args.put("rekeyConsumerGroupName", "tokenmeter-rekey");
        args.put("diagnosticsPartitionCount", 2);
        args.put("accountName", "tmckpt");
        args.put("storageAccountName", "tmckpt");
        args.put("containerName", "checkpoints");
        args.put("checkpointContainerName", "checkpoints");
        args.put("rekeyCheckpointContainerName", "rekey-checkpoints");
        args.put("rekeyDeadLetterContainerName", "rekey-dead-letters");
        args.put("identityName", "tm-bridge-id");
        args.put("rekeyIdentityName", "tm-rekey-id");
        args.put("apimServiceName", "apim1");
        args.put("apimResourceGroup", "apim-rg");
        args.put("apimIdentityType", "SystemAssigned");
        args.put("containerRegistryName", "tmacr");
        args.put("diagnosticsExportRuleId", "rule-id");
        args.put("environmentName", "tm-env");
        args.put("appName", "tm-bridge");
        args.put("rekeyAppName", "tm-rekey");
        args.put("identityResourceId", "/sample/bridge-identity");
        args.put("rekeyIdentityResourceId", "/sample/rekey-identity");
        args.put("partitionCount", 4);
        return args;
    }

    private static ArmExpressions evaluator(JsonNode template, boolean llmLogs) {
        return new ArmExpressions(template, sampleArguments(llmLogs));
    }

    // ---------------------------------------------------------------- one switch

    @Test
    void theLlmLogsSwitchAddsExactlyTheseResourcesAndRemovesNone() {
        Set<String> onlyWhenOn = new TreeSet<>();
        Set<String> onlyWhenOff = new TreeSet<>();
        for (String module : MODULES) {
            JsonNode template = TemplateFiles.module(module);
            ArmExpressions on = evaluator(template, true);
            ArmExpressions off = evaluator(template, false);
            for (JsonNode r : template.path("resources")) {
                boolean deploysOn = on.deploys(r);
                boolean deploysOff = off.deploys(r);
                if (deploysOn && !deploysOff) {
                    onlyWhenOn.add(module + ": " + label(r, on));
                } else if (deploysOff && !deploysOn) {
                    onlyWhenOff.add(module + ": " + label(r, off));
                }
            }
        }
        assertThat(onlyWhenOff).as("resources that llmLogs=true would remove").isEmpty();
        assertThat(onlyWhenOn).as("resources deployed only with llmLogs=true").containsExactlyInAnyOrder(
                "eventhubs: Microsoft.EventHub/namespaces/eventhubs tmns/apim-llm-logs",
                "eventhubs: Microsoft.EventHub/namespaces/eventhubs/consumergroups tmns/apim-llm-logs/tokenmeter-rekey",
                "eventhubs: Microsoft.EventHub/namespaces/authorizationRules tmns/tokenmeter-diagnostics-export",
                "storage: Microsoft.Storage/storageAccounts/blobServices/containers tmckpt/default/rekey-checkpoints",
                "storage: Microsoft.Storage/storageAccounts/blobServices/containers tmckpt/default/rekey-dead-letters",
                "identity: Microsoft.ManagedIdentity/userAssignedIdentities tm-rekey-id",
                "identity: Azure Event Hubs Data Receiver for rekey @ Microsoft.EventHub/namespaces/tmns/eventhubs/apim-llm-logs",
                "identity: Azure Event Hubs Data Sender for rekey @ Microsoft.EventHub/namespaces/tmns/eventhubs/apim-usage",
                "identity: Storage Blob Data Contributor for rekey @ Microsoft.Storage/storageAccounts/tmckpt/blobServices/default/containers/rekey-checkpoints",
                "identity: Storage Blob Data Contributor for rekey @ Microsoft.Storage/storageAccounts/tmckpt/blobServices/default/containers/rekey-dead-letters",
                "identity: AcrPull for rekey @ Microsoft.ContainerRegistry/registries/tmacr",
                "containerapp: Microsoft.App/containerApps tm-rekey",
                "apim: Microsoft.ApiManagement/service/diagnostics apim1/azuremonitor",
                "apim: Microsoft.Insights/diagnosticSettings tokenmeter-llm-logs @ Microsoft.ApiManagement/service/apim1");
    }

    @Test
    void theSwitchAlsoTurnsTheBridgesJoinOnAndOff() {
        JsonNode containerapp = TemplateFiles.module("containerapp");
        String join = ProjectChecksTest.bridgeEnvironment(ProjectChecksTest.containerApp()).get("TOKENMETER_JOIN");
        assertThat(evaluator(containerapp, true).value(text(join)).asText()).isEqualTo("on");
        assertThat(evaluator(containerapp, false).value(text(join)).asText()).isEqualTo("off");

        // outputs name nothing that was not deployed
        for (String[] output : List.of(new String[] {"containerapp", "rekeyAppName"},
                new String[] {"eventhubs", "diagnosticsHubName"}, new String[] {"eventhubs", "rekeyConsumerGroupName"},
                new String[] {"eventhubs", "diagnosticsExportRuleId"}, new String[] {"identity", "rekeyIdentityClientId"},
                new String[] {"storage", "rekeyContainerUrl"})) {
            JsonNode template = TemplateFiles.module(output[0]);
            JsonNode value = template.at("/outputs/" + output[1] + "/value");
            assertThat(evaluator(template, false).value(value).asText()).as(output[0] + " output " + output[1] + " when off")
                    .isEmpty();
        }

        // the main template hands its one switch, on by default, to every module that has one
        JsonNode main = TemplateFiles.read(TemplateFiles.main());
        assertThat(main.at("/parameters/llmLogs/defaultValue").asBoolean()).isTrue();
        List<String> switched = new ArrayList<>();
        for (JsonNode d : main.path("resources")) {
            JsonNode declared = d.at("/properties/template/parameters/llmLogs");
            if (!declared.isMissingNode()) {
                switched.add(d.path("name").asText());
                assertThat(d.at("/properties/parameters/llmLogs/value").asText()).as(d.path("name").asText())
                        .isEqualTo("[parameters('llmLogs')]");
            }
        }
        assertThat(switched).containsExactlyInAnyOrder("tokenmeter-eventhubs", "tokenmeter-storage",
                "tokenmeter-identity", "tokenmeter-containerapp", "tokenmeter-apim");
    }

    @Test
    void theNamespaceAcceptsSharedAccessKeysOnlyWhileAzureMonitorExportsToIt() {
        // Azure Monitor streams resource logs with the authorization rule's key; everything else in the pipeline
        // uses Microsoft Entra ID, so local authentication stays off whenever the export is off
        JsonNode eventhubs = TemplateFiles.module("eventhubs");
        JsonNode namespace = resource(eventhubs, "Microsoft.EventHub/namespaces");
        JsonNode setting = namespace.at("/properties/disableLocalAuth");
        assertThat(evaluator(eventhubs, false).value(setting).asBoolean()).isTrue();
        assertThat(evaluator(eventhubs, true).value(setting).asBoolean()).isFalse();
    }

    // ---------------------------------------------------------------- what APIM exports, and where to

    @Test
    void theDiagnosticSettingExportsOnlyGatewayLlmLogsToTheDiagnosticHub() {
        JsonNode apim = TemplateFiles.module("apim");
        List<JsonNode> settings = new ArrayList<>();
        for (String module : MODULES) {
            for (JsonNode r : TemplateFiles.module(module).path("resources")) {
                // the workspace's own setting (WorkbookTest) sends to no hub
                if (r.path("type").asText().equalsIgnoreCase("Microsoft.Insights/diagnosticSettings")
                        && r.path("properties").has("eventHubName")) {
                    settings.add(r);
                }
            }
        }
        assertThat(settings).as("diagnostic settings exporting to an Event Hub in infra/modules").hasSize(1);
        JsonNode setting = evaluator(apim, true).value(settings.get(0));
        assertThat(setting.path("apiVersion").asText()).isEqualTo("2021-05-01-preview");
        assertThat(setting.path("scope").asText()).as("on the APIM service").isEqualTo("Microsoft.ApiManagement/service/apim1");
        JsonNode props = setting.path("properties");
        // no other destination (workspace, storage, partner) and no metrics
        assertThat(fieldNames(props)).containsExactlyInAnyOrder("eventHubAuthorizationRuleId", "eventHubName", "logs");
        assertThat(props.path("logs")).hasSize(1);
        JsonNode log = props.path("logs").get(0);
        assertThat(fieldNames(log)).containsExactlyInAnyOrder("category", "enabled");
        assertThat(log.path("category").asText()).isEqualTo("GatewayLlmLogs");
        assertThat(log.path("enabled").asBoolean()).isTrue();
        assertThat(props.path("eventHubName").asText()).isEqualTo("apim-llm-logs");
        assertThat(props.path("eventHubAuthorizationRuleId").asText()).isEqualTo("rule-id");

        // main.json: the hub and rule the setting names are the ones the eventhubs module creates
        Map<String, JsonNode> args = deploymentArguments();
        assertThat(args.get("apim").at("/diagnosticsHubName/value"))
                .isEqualTo(args.get("eventhubs").at("/diagnosticsHubName/value"));
        assertThat(args.get("apim").at("/diagnosticsExportRuleId/value").asText()).isEqualTo(
                "[reference(resourceId('Microsoft.Resources/deployments', 'tokenmeter-eventhubs'), '2022-09-01').outputs.diagnosticsExportRuleId.value]");
        JsonNode eventhubs = TemplateFiles.module("eventhubs");
        ArmExpressions on = evaluator(eventhubs, true);
        JsonNode rule = resource(eventhubs, "Microsoft.EventHub/namespaces/authorizationRules");
        String ruleId = "/subscriptions/" + ArmExpressions.SUBSCRIPTION + "/resourceGroups/" + ArmExpressions.RESOURCE_GROUP
                + "/providers/Microsoft.EventHub/namespaces/" + on.value(rule.path("name")).asText().replace("/", "/authorizationRules/");
        assertThat(on.value(eventhubs.at("/outputs/diagnosticsExportRuleId/value")).asText())
                .as("the rule id handed to APIM is the namespace-level rule created here").isEqualTo(ruleId);
        // Azure Monitor's documented requirement for an Event Hubs destination
        assertThat(rule.at("/properties/rights")).extracting(JsonNode::asText)
                .containsExactlyInAnyOrder("Manage", "Send", "Listen");
    }

    @Test
    void theDiagnosticHubIsItsOwnNonCompactedHubInTheUsageHubsNamespace() {
        JsonNode eventhubs = TemplateFiles.module("eventhubs");
        ArmExpressions on = evaluator(eventhubs, true);
        List<JsonNode> hubs = resources(eventhubs, "Microsoft.EventHub/namespaces/eventhubs");
        Map<String, JsonNode> byName = new TreeMap<>();
        hubs.forEach(h -> byName.put(on.value(h.path("name")).asText(), on.value(h)));
        assertThat(byName).containsOnlyKeys("tmns/apim-usage", "tmns/apim-llm-logs");
        JsonNode diagnostic = byName.get("tmns/apim-llm-logs");
        assertThat(diagnostic.at("/properties/retentionDescription/cleanupPolicy").asText()).isEqualTo("Delete");
        assertThat(diagnostic.at("/properties/partitionCount").asInt()).isEqualTo(2);

        JsonNode main = TemplateFiles.read(TemplateFiles.main());
        assertThat(main.at("/parameters/diagnosticsHubName/defaultValue").asText())
                .isNotEmpty()
                .isNotEqualTo(main.at("/parameters/hubName/defaultValue").asText());
    }

    @Test
    void apimLogsLlmUsageForEveryRequestButNoPromptsOrCompletions() {
        JsonNode apim = TemplateFiles.module("apim");
        JsonNode raw = resource(apim, "Microsoft.ApiManagement/service/diagnostics", "azuremonitor");
        assertThat(raw.path("apiVersion").asText()).isEqualTo("2024-06-01-preview");
        JsonNode diagnostic = evaluator(apim, true).value(raw);
        JsonNode props = diagnostic.path("properties");
        assertThat(props.path("loggerId").asText()).endsWith("/providers/Microsoft.ApiManagement/service/apim1/loggers/azuremonitor");

        JsonNode llm = props.path("largeLanguageModel");
        assertThat(llm.path("logs").asText()).isEqualTo("enabled");
        // The schema's only value for requests/responses.messages is "all" (log every prompt and completion); there
        // is no "off" value, so leaving both settings out is how message logging stays off. If a later schema
        // adds an explicit off value, this fails and the template should set it.
        assertThat(fieldNames(llm)).containsExactly("logs");
        JsonNode messages = TemplateFiles.read(ArmSchemaLibrary.get().schemasDir()
                .resolve("2024-06-01-preview/Microsoft.ApiManagement.json"))
                .at("/definitions/LLMMessageDiagnosticSettings/properties/messages/oneOf/0/enum");
        assertThat(messages).extracting(JsonNode::asText).containsExactly("all");

        // every request: a sampled-out request has no row and would be billed from the estimate
        assertThat(props.at("/sampling/samplingType").asText()).isEqualTo("fixed");
        assertThat(props.at("/sampling/percentage").asInt()).isEqualTo(100);
        // and no HTTP bodies either
        for (String side : List.of("frontend", "backend")) {
            for (String message : List.of("request", "response")) {
                assertThat(props.at("/" + side + "/" + message + "/body/bytes").asInt()).as(side + " " + message)
                        .isZero();
            }
        }
    }

    // ---------------------------------------------------------------- the re-key stage

    @Test
    void theRekeyIdentityHoldsExactlyItsFourRolesPlusAcrPullForAPrivateRegistry() {
        JsonNode identity = TemplateFiles.module("identity");
        Map<String, String> own = Map.of(
                "Microsoft.EventHub/namespaces/tmns/eventhubs/apim-llm-logs", "Azure Event Hubs Data Receiver",
                "Microsoft.EventHub/namespaces/tmns/eventhubs/apim-usage", "Azure Event Hubs Data Sender",
                "Microsoft.Storage/storageAccounts/tmckpt/blobServices/default/containers/rekey-checkpoints", "Storage Blob Data Contributor",
                "Microsoft.Storage/storageAccounts/tmckpt/blobServices/default/containers/rekey-dead-letters", "Storage Blob Data Contributor");
        Map<String, String> withRegistry = new LinkedHashMap<>(own);
        withRegistry.put("Microsoft.ContainerRegistry/registries/tmacr", "AcrPull");
        assertThat(rekeyGrants(identity, "tmacr")).containsExactlyInAnyOrderEntriesOf(withRegistry);
        assertThat(rekeyGrants(identity, "")).containsExactlyInAnyOrderEntriesOf(own);
    }

    @Test
    void theRekeyAppRunsAsItsOwnIdentityOnly() {
        JsonNode app = ProjectChecksTest.rekeyApp();
        String identity = "[parameters('rekeyIdentityResourceId')]";
        assertThat(fieldNames(app.at("/identity/userAssignedIdentities"))).containsExactly(identity);
        assertThat(app.at("/properties/template/scale/rules/0/custom/identity").asText()).isEqualTo(identity);
        JsonNode registries = evaluatorWith(TemplateFiles.module("containerapp"), Map.of("containerRegistryServer", "tmacr.azurecr.io"))
                .value(app.at("/properties/configuration/registries"));
        assertThat(registries).hasSize(1);
        assertThat(registries.get(0).path("identity").asText()).isEqualTo("/sample/rekey-identity");
        assertThat(ProjectChecksTest.bridgeEnvironment(app).get("AZURE_CLIENT_ID")).isEqualTo("[parameters('rekeyIdentityClientId')]");
        assertThat(app.at("/properties/configuration/secrets").isMissingNode()).as("no OpenMeter token: it never calls OpenMeter")
                .isTrue();

        Map<String, JsonNode> args = deploymentArguments();
        String fromIdentity = "[reference(resourceId('Microsoft.Resources/deployments', 'tokenmeter-identity'), '2022-09-01').outputs.%s.value]";
        assertThat(args.get("containerapp").at("/rekeyIdentityResourceId/value").asText())
                .isEqualTo(fromIdentity.formatted("rekeyIdentityResourceId"));
        assertThat(args.get("containerapp").at("/rekeyIdentityClientId/value").asText())
                .isEqualTo(fromIdentity.formatted("rekeyIdentityClientId"));
        JsonNode identityModule = TemplateFiles.module("identity");
        ArmExpressions on = evaluator(identityModule, true);
        assertThat(on.value(identityModule.at("/outputs/rekeyIdentityResourceId/value")).asText())
                .endsWith("/userAssignedIdentities/tm-rekey-id");
        assertThat(main().at("/variables/rekeyIdentityName").asText()).isNotEqualTo(main().at("/variables/identityName").asText());
    }

    @Test
    void theRekeyAppReadsTheDiagnosticHubAndWritesTheUsageHubOfTheSameNamespace() {
        JsonNode containerapp = TemplateFiles.module("containerapp");
        JsonNode app = ProjectChecksTest.rekeyApp();
        Map<String, String> env = ProjectChecksTest.bridgeEnvironment(app);
        Map<String, String> bridge = ProjectChecksTest.bridgeEnvironment(ProjectChecksTest.containerApp());
        ArmExpressions on = evaluator(containerapp, true);
        assertThat(env.get("TOKENMETER_MODE")).isEqualTo("rekey");
        assertThat(env.get("TOKENMETER_SOURCE")).isEqualTo("eventhubs");
        assertThat(on.value(text(env.get("TOKENMETER_EVENTHUBS_NAMESPACE"))).asText()).isEqualTo("tmns.servicebus.windows.net");
        assertThat(env.get("TOKENMETER_REKEY_EVENTHUBS_NAMESPACE")).isEqualTo(env.get("TOKENMETER_EVENTHUBS_NAMESPACE"))
                .isEqualTo(bridge.get("TOKENMETER_EVENTHUBS_NAMESPACE"));
        assertThat(on.value(text(env.get("TOKENMETER_EVENTHUBS_NAME"))).asText()).isEqualTo("apim-llm-logs");
        assertThat(on.value(text(env.get("TOKENMETER_EVENTHUBS_CONSUMER_GROUP"))).asText()).isEqualTo("tokenmeter-rekey");
        assertThat(env.get("TOKENMETER_REKEY_EVENTHUBS_NAME")).as("republishes to the hub the bridge reads")
                .isEqualTo(bridge.get("TOKENMETER_EVENTHUBS_NAME"));
        assertThat(on.value(text(env.get("TOKENMETER_REKEY_TICK_INTERVAL_MS"))).asText()).isEqualTo("15000");
        // a row the stage never reads leaves its streamed record on the estimate, so it starts from the oldest row
        assertThat(env.get("TOKENMETER_EVENTHUBS_START_POSITION")).isEqualTo("earliest");
        assertThat(env.get("TOKENMETER_CHECKPOINT_BLOB_CONTAINER_URL"))
                .endsWith(", parameters('rekeyCheckpointContainerName'))]")
                .isEqualTo(bridge.get("TOKENMETER_CHECKPOINT_BLOB_CONTAINER_URL")
                        .replace("parameters('checkpointContainerName')", "parameters('rekeyCheckpointContainerName')"));
        assertThat(env.get("TOKENMETER_HTTP_PORT")).isEqualTo(bridge.get("TOKENMETER_HTTP_PORT"));

        // probes like the bridge's; 1 replica at least, no more than the diagnostic hub has partitions
        assertThat(app.at("/properties/template/containers/0/probes"))
                .isEqualTo(ProjectChecksTest.containerApp().at("/properties/template/containers/0/probes"));
        JsonNode scale = on.value(app.at("/properties/template/scale"));
        assertThat(scale.path("minReplicas").asInt()).isEqualTo(1);
        assertThat(scale.path("maxReplicas").asInt()).isEqualTo(2);
        assertThat(evaluatorWith(containerapp, Map.of("rekeyMaxReplicas", 8, "diagnosticsPartitionCount", 3))
                .value(app.at("/properties/template/scale/maxReplicas")).asInt()).isEqualTo(3);
        JsonNode metadata = scale.at("/rules/0/custom/metadata");
        assertThat(scale.at("/rules/0/custom/type").asText()).isEqualTo("azure-eventhub");
        assertThat(metadata.path("eventHubNamespace").asText()).isEqualTo("tmns");
        assertThat(metadata.path("eventHubName").asText()).isEqualTo("apim-llm-logs");
        assertThat(metadata.path("consumerGroup").asText()).isEqualTo("tokenmeter-rekey");
        assertThat(metadata.path("blobContainer").asText()).isEqualTo("rekey-checkpoints");
        assertThat(metadata.path("checkpointStrategy").asText()).isEqualTo("blobMetadata");
    }

    // ---------------------------------------------------------------- KEDA and the join's lag

    @Test
    void theBridgesKedaThresholdAllowsForTheBacklogTheJoinHoldsBack() {
        JsonNode containerapp = TemplateFiles.module("containerapp");
        JsonNode threshold = ProjectChecksTest.containerApp().at("/properties/template/scale/rules/0/custom/metadata/unprocessedEventThreshold");
        JsonNode maxReplicas = ProjectChecksTest.containerApp().at("/properties/template/scale/maxReplicas");
        int partitions = 4;
        int rate = 5; // usage records per second per partition
        long windowMs = 1_200_000;
        long lateMs = 600_000;
        Map<String, Object> load = Map.of("partitionCount", partitions, "maxReplicas", 8, "unprocessedEventThreshold", 1000,
                "expectedEventsPerSecondPerPartition", rate, "joinWindowMs", windowMs, "joinLateWindowMs", lateMs);

        ArmExpressions off = evaluatorWith(containerapp, with(load, "llmLogs", false));
        assertThat(off.value(threshold).asText()).as("join off: the threshold as given").isEqualTo("1000");

        ArmExpressions on = evaluatorWith(containerapp, with(load, "llmLogs", true));
        long heldBackPerPartition = rate * (windowMs + lateMs) / 1000; // 9,000 events per partition
        long effective = Long.parseLong(on.value(threshold).asText());
        assertThat(effective).isEqualTo(1000 + partitions * heldBackPerPartition);

        // What KEDA's azure-eventhub scaler does with it: the unprocessed events of all partitions together, against
        // the threshold as an average per replica. A bridge that keeps up still shows the join's lag on every
        // partition; it must stay at one replica, and the first real backlog beyond the user's threshold must
        // still add one, as it would without the join.
        int replicaCap = on.value(maxReplicas).asInt();
        long steadyLag = partitions * heldBackPerPartition;
        assertThat(kedaReplicas(steadyLag, effective, partitions, replicaCap)).isEqualTo(1);
        assertThat(kedaReplicas(steadyLag + 1001, effective, partitions, replicaCap)).isEqualTo(2);
        // without the allowance the same steady state would run every replica it may
        assertThat(kedaReplicas(steadyLag, 1000, partitions, replicaCap)).isEqualTo(partitions);

        ArmExpressions noRate = evaluatorWith(containerapp, with(with(load, "llmLogs", true), "expectedEventsPerSecondPerPartition", 0));
        assertThat(noRate.value(threshold).asText()).isEqualTo("1000");
    }

    @Test
    void theMainTemplateFeedsTheThresholdAndTheJoinFromItsOwnParameters() {
        JsonNode main = main();
        assertThat(main.at("/parameters/joinWindowMs/defaultValue").asLong()).isEqualTo(1_200_000);
        assertThat(main.at("/parameters/joinLateWindowMs/defaultValue").asLong()).isEqualTo(600_000);
        JsonNode containerapp = deploymentArguments().get("containerapp");
        for (String name : List.of("joinWindowMs", "joinLateWindowMs", "expectedEventsPerSecondPerPartition",
                "unprocessedEventThreshold", "partitionCount")) {
            assertThat(containerapp.at("/" + name + "/value").asText()).as(name).isEqualTo("[parameters('" + name + "')]");
        }
        Map<String, String> env = ProjectChecksTest.bridgeEnvironment(ProjectChecksTest.containerApp());
        assertThat(env.get("TOKENMETER_JOIN_WINDOW_MS")).isEqualTo("[string(parameters('joinWindowMs'))]");
        assertThat(env.get("TOKENMETER_JOIN_LATE_WINDOW_MS")).isEqualTo("[string(parameters('joinLateWindowMs'))]");
    }

    /** Replicas KEDA's azure-eventhub scaler asks for (see its getTotalLagRelatedToPartitionAmount), within 1..cap. */
    private static int kedaReplicas(long unprocessedEvents, long threshold, int partitions, int cap) {
        long metric = unprocessedEvents / threshold > partitions ? partitions * threshold : unprocessedEvents;
        long desired = (metric + threshold - 1) / threshold;
        return (int) Math.max(1, Math.min(cap, desired));
    }

    // ---------------------------------------------------------------- helpers

    private Map<String, String> rekeyGrants(JsonNode identity, String registry) {
        ArmExpressions on = evaluatorWith(identity, Map.of("llmLogs", true, "containerRegistryName", registry));
        Map<String, String> grants = new LinkedHashMap<>();
        for (JsonNode r : resources(identity, "Microsoft.Authorization/roleAssignments")) {
            if (!r.at("/properties/principalId").asText().contains("variables('rekeyIdentityResourceId')") || !on.deploys(r)) {
                continue;
            }
            String scope = on.value(r.path("scope")).asText();
            assertThat(grants.put(scope, role(r))).as("one role on " + scope + " for the re-key stage").isNull();
        }
        return grants;
    }

    private static String label(JsonNode r, ArmExpressions e) {
        String type = r.path("type").asText();
        if (type.equals("Microsoft.Authorization/roleAssignments")) {
            String principal = r.at("/properties/principalId").asText();
            String who = principal.contains("variables('rekeyIdentityResourceId')") ? "rekey"
                    : principal.contains("variables('identityResourceId')") ? "bridge" : principal;
            return role(r) + " for " + who + " @ " + e.value(r.path("scope")).asText();
        }
        String name = type + " " + e.value(r.path("name")).asText();
        return r.has("scope") ? name + " @ " + e.value(r.path("scope")).asText() : name;
    }

    private static String role(JsonNode roleAssignment) {
        Matcher m = ROLE_REF.matcher(roleAssignment.at("/properties/roleDefinitionId").asText());
        assertThat(m.find()).as("role assignment names its role through variables('roleDefinitionIds')").isTrue();
        return m.group(1) != null ? m.group(1) : m.group(2);
    }

    private static ArmExpressions evaluatorWith(JsonNode template, Map<String, Object> overrides) {
        Map<String, Object> args = sampleArguments(true);
        args.putAll(overrides);
        return new ArmExpressions(template, args);
    }

    private static Map<String, Object> with(Map<String, Object> base, String key, Object value) {
        Map<String, Object> out = new HashMap<>(base);
        out.put(key, value);
        return out;
    }

    private static JsonNode text(String value) {
        return com.fasterxml.jackson.databind.node.TextNode.valueOf(value);
    }

    private static JsonNode main() {
        return TemplateFiles.read(TemplateFiles.main());
    }

    /** module name (without "tokenmeter-") -> the parameters main.json passes to it. */
    private static Map<String, JsonNode> deploymentArguments() {
        Map<String, JsonNode> out = new HashMap<>();
        for (JsonNode d : main().path("resources")) {
            out.put(d.path("name").asText().substring("tokenmeter-".length()), d.at("/properties/parameters"));
        }
        return out;
    }

    private static List<JsonNode> resources(JsonNode template, String type) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode r : template.path("resources")) {
            if (r.path("type").asText().equalsIgnoreCase(type)) {
                out.add(r);
            }
        }
        return out;
    }

    private static JsonNode resource(JsonNode template, String type) {
        List<JsonNode> found = resources(template, type);
        assertThat(found).as("one " + type).hasSize(1);
        return found.get(0);
    }

    private static JsonNode resource(JsonNode template, String type, String lastNameSegment) {
        ArmExpressions e = evaluator(template, true);
        for (JsonNode r : resources(template, type)) {
            if (e.value(r.path("name")).asText().endsWith("/" + lastNameSegment)) {
                return r;
            }
        }
        throw new AssertionError("no " + type + " named .../" + lastNameSegment);
    }

    private static Set<String> fieldNames(JsonNode node) {
        Set<String> names = new TreeSet<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            names.add(it.next());
        }
        return names;
    }
}
