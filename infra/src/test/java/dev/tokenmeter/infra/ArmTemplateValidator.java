package dev.tokenmeter.infra;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.ValidationMessage;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Checks an ARM template the way a careful reviewer with Microsoft's schemas at hand would: the template shell
 * against deploymentTemplate.json, then every resource (children declared inside a parent and resources of inline
 * nested deployments too) against the schema for its own type and api-version.
 */
final class ArmTemplateValidator {

    /**
     * Resource types the reference set has no schema for, each with the reason it may still be deployed. Keep it
     * short: anything else without a schema fails.
     */
    static final Map<String, String> NO_SCHEMA_ALLOWED = Map.of(
            // Microsoft.Resources is not among the reference schemas. A nested deployment is only a frame: its
            // shell is checked by checkDeploymentShell below, and its inline template is validated like any
            // template (shell and every resource).
            "microsoft.resources/deployments", "nested deployment frame; its inline template is validated");

    private static final String DEPLOYMENTS = "microsoft.resources/deployments";
    // The keys ARM accepts on a nested deployment resource and in its properties (Resources REST API,
    // Deployment / DeploymentProperties); templateLink/parametersLink are left out on purpose: the templates
    // here are inlined so that `az deployment group create --template-file` deploys them from a checkout.
    private static final Set<String> DEPLOYMENT_KEYS = Set.of("type", "apiVersion", "name", "properties", "dependsOn",
            "condition", "resourceGroup", "subscriptionId", "comments", "location", "tags");
    private static final Set<String> DEPLOYMENT_PROPERTY_KEYS = Set.of("mode", "expressionEvaluationOptions",
            "parameters", "template");

    private final ArmSchemaLibrary schemas;
    /** "type@apiVersion -> schema" for every resource actually checked against a schema, for the tests to count. */
    private final List<String> checked = new ArrayList<>();

    ArmTemplateValidator(ArmSchemaLibrary schemas) {
        this.schemas = schemas;
    }

    /** Every problem in one template file; empty when it is valid. */
    List<Finding> validate(String file, JsonNode template) {
        List<Finding> out = new ArrayList<>();
        template(file, template, "", out);
        return out;
    }

    List<String> checkedResources() {
        return List.copyOf(checked);
    }

    /** A deployment parameters file against deploymentParameters.json. */
    List<Finding> validateParametersFile(String file, JsonNode parameters) {
        List<Finding> out = new ArrayList<>();
        report(file, "parameters file", "", schemas.parametersFileSchema().validate(parameters), out);
        return out;
    }

    private void template(String file, JsonNode template, String pointer, List<Finding> out) {
        String what = pointer.isEmpty() ? "template" : "nested template";
        report(file, what, pointer, schemas.templateSchema().validate(template), out);
        JsonNode resources = template.path("resources");
        if (resources.isArray()) {
            for (int i = 0; i < resources.size(); i++) {
                resource(file, resources.get(i), pointer + "/resources/" + i, null, out);
            }
        } else if (resources.isObject()) { // languageVersion 2.0 symbolic names
            resources.fields().forEachRemaining(e ->
                    resource(file, e.getValue(), pointer + "/resources/" + escape(e.getKey()), null, out));
        }
    }

    private void resource(String file, JsonNode resource, String pointer, String parentType, List<Finding> out) {
        String type = resource.path("type").asText("");
        String apiVersion = resource.path("apiVersion").asText("");
        String label = "resource " + (type.isEmpty() ? "(no type)" : type) + "@" + apiVersion + " named "
                + resource.path("name").toString();
        if (type.isEmpty() || isExpression(type) || apiVersion.isEmpty() || isExpression(apiVersion)) {
            // the schema is chosen by type and api-version, so both must be literal
            out.add(new Finding(file, label, pointer, "type and apiVersion must be literal strings"));
            return;
        }
        String fullType = parentType != null && !type.contains("/") ? parentType + "/" + type : type;
        String key = fullType.toLowerCase(Locale.ROOT);
        if (key.equals(DEPLOYMENTS)) {
            checkDeploymentShell(file, label, pointer, resource, out);
            JsonNode inner = resource.path("properties").path("template");
            if (inner.isObject()) {
                template(file, inner, pointer + "/properties/template", out);
            }
            return;
        }
        Optional<String> definition = schemas.resourceDefinitionIri(fullType, apiVersion);
        if (definition.isEmpty()) {
            if (!NO_SCHEMA_ALLOWED.containsKey(key)) {
                out.add(new Finding(file, label, pointer, "no schema for " + fullType + " at api-version " + apiVersion
                        + " in the reference schemas; use an api-version they have, or add the type with a reason to "
                        + "ArmTemplateValidator.NO_SCHEMA_ALLOWED"));
            }
            return;
        }
        String schemaIri = definition.get();
        if (parentType != null) {
            Optional<String> child = schemas.childResourceIri(schemaIri);
            if (child.isEmpty()) {
                out.add(new Finding(file, label, pointer, "the schema has no child-resource form of " + fullType
                        + "; declare it at the top level with a full name"));
                return;
            }
            schemaIri = child.get();
        }
        ObjectNode instance = resource.deepCopy();
        instance.remove("resources"); // children are validated on their own, below
        String name = instance.path("name").asText("");
        if (parentType == null && !isExpression(name) && name.contains("/")) {
            // "ns/hub/group": the schema's name rules are about the last segment only
            instance.put("name", name.substring(name.lastIndexOf('/') + 1));
        }
        JsonSchema schema = schemas.resourceSchema(schemaIri);
        checked.add(fullType + "@" + apiVersion + " -> " + schemaIri.substring(ArmSchemaLibrary.IRI_PREFIX.length()));
        report(file, label, pointer, schema.validate(instance), out);
        JsonNode children = resource.path("resources");
        for (int i = 0; i < children.size(); i++) {
            resource(file, children.get(i), pointer + "/resources/" + i, fullType, out);
        }
    }

    private static void checkDeploymentShell(String file, String label, String pointer, JsonNode resource,
                                             List<Finding> out) {
        for (Iterator<String> it = resource.fieldNames(); it.hasNext(); ) {
            String field = it.next();
            if (!DEPLOYMENT_KEYS.contains(field)) {
                out.add(new Finding(file, label, pointer + "/" + escape(field), "unknown deployment property '" + field + "'"));
            }
        }
        JsonNode props = resource.path("properties");
        for (Iterator<String> it = props.fieldNames(); it.hasNext(); ) {
            String field = it.next();
            if (!DEPLOYMENT_PROPERTY_KEYS.contains(field)) {
                out.add(new Finding(file, label, pointer + "/properties/" + escape(field),
                        "unknown deployment property '" + field + "'"));
            }
        }
        if (!props.path("mode").asText().equals("Incremental")) {
            out.add(new Finding(file, label, pointer + "/properties/mode", "nested deployments must use mode Incremental"));
        }
        if (!props.path("expressionEvaluationOptions").path("scope").asText().equals("inner")) {
            // outer scope would evaluate the inner template's expressions against the parent's parameters
            out.add(new Finding(file, label, pointer + "/properties/expressionEvaluationOptions/scope",
                    "inline templates here take their own parameters: scope must be 'inner'"));
        }
        if (!props.path("template").isObject()) {
            out.add(new Finding(file, label, pointer + "/properties/template", "missing inline template"));
        }
    }

    private static void report(String file, String label, String pointer, Set<ValidationMessage> messages,
                               List<Finding> out) {
        List<ValidationMessage> useful = new ArrayList<>();
        for (ValidationMessage m : messages) {
            // a value that is not an expression fails the wildcard branch; that says nothing about the value
            if (String.valueOf(m.getSchemaLocation()).contains("/definitions/expression")) {
                continue;
            }
            useful.add(m);
        }
        // anyOf/oneOf summaries repeat what their branches said at or below the same place; keep them only when
        // nothing more precise is there
        // A subschema that fails keeps none of its annotations, so unevaluatedProperties then also reports the
        // property that holds the real error ("'properties' is not evaluated"); that echo is dropped too.
        List<ValidationMessage> precise = useful.stream()
                .filter(m -> !isSummary(m) || useful.stream().noneMatch(o -> o != m && !isSummary(o)
                        && isAtOrBelow(location(o), location(m))))
                .filter(m -> !"unevaluatedProperties".equals(m.getType()) || useful.stream().noneMatch(o -> o != m
                        && location(o).startsWith(location(m) + "/")))
                .sorted(Comparator.comparing(ArmTemplateValidator::location).thenComparing(ValidationMessage::getMessage))
                .toList();
        for (ValidationMessage m : precise) {
            out.add(new Finding(file, label, pointer + location(m), m.getError() != null ? m.getError() : m.getMessage()));
        }
    }

    private static boolean isSummary(ValidationMessage m) {
        return Set.of("anyOf", "oneOf", "allOf").contains(m.getType());
    }

    private static String location(ValidationMessage m) {
        String loc = String.valueOf(m.getInstanceLocation());
        if ("required".equals(m.getType()) || "unevaluatedProperties".equals(m.getType())
                || "additionalProperties".equals(m.getType())) {
            // name the missing/unknown property itself
            String prop = m.getProperty();
            if (prop != null && !prop.isEmpty()) {
                return (loc.equals("/") ? "" : loc) + "/" + escape(prop);
            }
        }
        return loc.equals("/") ? "" : loc;
    }

    private static boolean isAtOrBelow(String candidate, String ancestor) {
        return candidate.equals(ancestor) || candidate.startsWith(ancestor + "/") || ancestor.isEmpty();
    }

    static boolean isExpression(String value) {
        return value.startsWith("[") && value.endsWith("]") && !value.startsWith("[[");
    }

    private static String escape(String token) {
        return token.replace("~", "~0").replace("/", "~1");
    }

    /** One problem: which file, which resource, where (a JSON pointer into the file) and what. */
    record Finding(String file, String resource, String path, String message) {
        @Override
        public String toString() {
            return file + ": " + resource + ", at " + (path.isEmpty() ? "/" : path) + ": " + message;
        }
    }
}
