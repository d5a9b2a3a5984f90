package dev.tokenmeter.infra;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * main.json carries each module as an inline nested template (a local `az deployment group create --template-file`
 * cannot resolve linked templates by relative path; that needs a template spec or a hosted URI). The module files
 * stay the ones to edit and review; this test keeps the copies identical. After editing a module, run
 * {@code ./mvnw -pl infra test -Dtest=InlinedModulesTest -Dinfra.inline=write} to refresh main.json.
 */
class InlinedModulesTest {

    private static final String PREFIX = "tokenmeter-";

    @Test
    void everyModuleIsInlinedVerbatimInMainAndNothingElseIs() throws IOException {
        ObjectNode main = (ObjectNode) TemplateFiles.read(TemplateFiles.main());
        boolean write = "write".equals(System.getProperty("infra.inline"));
        List<String> problems = new ArrayList<>();
        TreeSet<String> used = new TreeSet<>();
        for (JsonNode resource : main.path("resources")) {
            if (!resource.path("type").asText().equalsIgnoreCase("Microsoft.Resources/deployments")) {
                continue;
            }
            String name = resource.path("name").asText();
            if (!name.startsWith(PREFIX)) {
                problems.add("nested deployment '" + name + "' must be named " + PREFIX + "<module> after its file in infra/modules");
                continue;
            }
            String module = name.substring(PREFIX.length());
            Path file = ProjectPaths.infra().resolve("modules").resolve(module + ".json");
            if (!Files.isRegularFile(file)) {
                problems.add("nested deployment '" + name + "' has no module file infra/modules/" + module + ".json");
                continue;
            }
            used.add(module + ".json");
            JsonNode moduleTemplate = TemplateFiles.read(file);
            ObjectNode props = (ObjectNode) resource.path("properties");
            if (!moduleTemplate.equals(props.get("template"))) {
                if (write) {
                    props.set("template", moduleTemplate);
                } else {
                    problems.add("infra/main.json: the inline template of '" + name + "' differs from infra/modules/"
                            + module + ".json; run ./mvnw -pl infra test -Dtest=InlinedModulesTest -Dinfra.inline=write");
                }
            }
        }
        for (Path module : TemplateFiles.modules()) {
            if (!used.contains(module.getFileName().toString())) {
                problems.add("infra/modules/" + module.getFileName() + " is not deployed by infra/main.json");
            }
        }
        if (write) {
            DefaultPrettyPrinter printer = new DefaultPrettyPrinter()
                    .withSeparators(Separators.createDefaultInstance()
                            .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                            .withObjectEmptySeparator("")
                            .withArrayEmptySeparator(""));
            DefaultIndenter indenter = new DefaultIndenter("  ", "\n");
            printer.indentArraysWith(indenter);
            printer.indentObjectsWith(indenter);
            String text = TemplateFiles.JSON.writer(printer).writeValueAsString(main) + "\n";
            Files.writeString(TemplateFiles.main(), text);
        }
        assertThat(problems).as("main.json and infra/modules").isEmpty();
    }
}
