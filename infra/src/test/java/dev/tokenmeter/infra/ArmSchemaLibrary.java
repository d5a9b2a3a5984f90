package dev.tokenmeter.infra;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.PathType;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Microsoft's ARM template schemas from {@code ../shared/reference/arm-schemas/schemas}, read at test time and
 * adjusted in memory so that they can catch what a reviewer would:
 * <ul>
 *   <li><b>Closed.</b> The published schemas never forbid unknown properties, so a misspelled property passes a
 *   plain validator. Every provider object schema that declares {@code properties} gets
 *   {@code unevaluatedProperties: false}; resource definitions are closed one level up, by the per-resource wrapper
 *   (see {@link #resourceSchema}), because there they are combined with the template-level keys
 *   ({@code dependsOn}, {@code condition}, ...) that live in deploymentTemplate.json.</li>
 *   <li><b>Expressions are wildcards.</b> Every property, array item and map value accepts an ARM expression
 *   ({@code "[...]"}) besides what the schema says: the value is only known at deployment time. Most published
 *   properties already allow that, but not all of them (names, strings with patterns, a few integers).</li>
 *   <li><b>One dialect.</b> The files are draft-04; {@code unevaluatedProperties} needs 2019-09, which reads the
 *   keywords these files use the same way ({@code id} becomes {@code $id}).</li>
 * </ul>
 * The files themselves are never copied into the project.
 */
final class ArmSchemaLibrary {

    static final String IRI_PREFIX = "https://schema.management.azure.com/schemas/";
    static final String EXPRESSION_REF = IRI_PREFIX + "common/definitions.json#/definitions/expression";
    static final String TEMPLATE_IRI = IRI_PREFIX + "2019-04-01/deploymentTemplate.json";
    static final String PARAMETERS_IRI = IRI_PREFIX + "2019-04-01/deploymentParameters.json";
    private static final String DIALECT = "https://json-schema.org/draft/2019-09/schema";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static volatile ArmSchemaLibrary instance;

    private final Path schemasDir;
    private final Map<String, ObjectNode> transformed = new ConcurrentHashMap<>();
    private final Map<String, JsonSchema> compiled = new ConcurrentHashMap<>();
    private final JsonSchemaFactory factory;
    private final SchemaValidatorsConfig config;

    private ArmSchemaLibrary(Path schemasDir) {
        this.schemasDir = schemasDir;
        this.factory = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V201909, builder -> builder
                .schemaLoaders(loaders -> loaders.schemas(this::schemaText)));
        this.config = SchemaValidatorsConfig.builder()
                .pathType(PathType.JSON_POINTER)
                // ARM checks formats itself at deployment time; the schemas' few "format"s add nothing here.
                .formatAssertionsEnabled(false)
                .build();
    }

    /** One library per test run: the large provider files are read and compiled once. */
    static ArmSchemaLibrary get() {
        ArmSchemaLibrary lib = instance;
        if (lib == null) {
            synchronized (ArmSchemaLibrary.class) {
                lib = instance;
                if (lib == null) {
                    lib = new ArmSchemaLibrary(ProjectPaths.sharedReference().resolve("arm-schemas/schemas"));
                    instance = lib;
                }
            }
        }
        return lib;
    }

    Path schemasDir() {
        return schemasDir;
    }

    /** The deployment template shell (parameters, variables, outputs, ...); resources are checked one by one. */
    JsonSchema templateSchema() {
        return compile(TEMPLATE_IRI);
    }

    JsonSchema parametersFileSchema() {
        return compile(PARAMETERS_IRI);
    }

    /** Where a resource type's definition lives, if the reference schemas have its api-version. */
    Optional<String> resourceDefinitionIri(String fullType, String apiVersion) {
        Path dir = schemasDir.resolve(apiVersion);
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        String namespace = fullType.substring(0, fullType.indexOf('/')).toLowerCase(Locale.ROOT);
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.filter(p -> {
                String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                return n.endsWith(".json") && (n.equals(namespace + ".json") || n.startsWith(namespace + "."));
            }).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (Path file : files) {
            JsonNode defs = read(file).path("resourceDefinitions");
            for (Iterator<Map.Entry<String, JsonNode>> it = defs.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> def = it.next();
                for (JsonNode t : def.getValue().path("properties").path("type").path("enum")) {
                    if (t.asText().equalsIgnoreCase(fullType)) {
                        return Optional.of(IRI_PREFIX + apiVersion + "/" + file.getFileName() + "#/resourceDefinitions/"
                                + def.getKey());
                    }
                }
            }
        }
        return Optional.empty();
    }

    /**
     * The schema one resource is checked against: the template-level keys every resource may carry (from
     * deploymentTemplate.json's resourceBase) together with the provider's definition, closed as a whole.
     * {@code definitionIri} is a resource definition, or for a child declared inside its parent's {@code resources}
     * array the provider's matching {@code ..._childResource} definition (whose {@code type} is the short form).
     */
    JsonSchema resourceSchema(String definitionIri) {
        return compiled.computeIfAbsent("resource:" + definitionIri, key -> {
            ObjectNode wrapper = JsonNodeFactory.instance.objectNode();
            wrapper.put("$schema", DIALECT);
            ArrayNode allOf = wrapper.putArray("allOf");
            allOf.addObject().put("$ref", TEMPLATE_IRI + "#/definitions/resourceBase");
            allOf.addObject().put("$ref", definitionIri);
            wrapper.put("unevaluatedProperties", false);
            return factory.getSchema(wrapper, config);
        });
    }

    /** Whether the provider file behind a resource definition also has the child-resource form of it. */
    Optional<String> childResourceIri(String resourceDefinitionIri) {
        int hash = resourceDefinitionIri.indexOf('#');
        String key = resourceDefinitionIri.substring(resourceDefinitionIri.lastIndexOf('/') + 1);
        String file = resourceDefinitionIri.substring(0, hash);
        JsonNode doc = read(schemasDir.resolve(file.substring(IRI_PREFIX.length())));
        String childKey = key + "_childResource";
        return doc.path("definitions").has(childKey)
                ? Optional.of(file + "#/definitions/" + childKey)
                : Optional.empty();
    }

    private JsonSchema compile(String iri) {
        return compiled.computeIfAbsent(iri, i -> factory.getSchema(com.networknt.schema.SchemaLocation.of(i), config));
    }

    /** Loader hook: networknt asks for every IRI it meets; ours are served, adjusted, from the shared folder. */
    private String schemaText(String iri) {
        if (!iri.startsWith(IRI_PREFIX)) {
            return null;
        }
        String relative = iri.substring(IRI_PREFIX.length());
        int hash = relative.indexOf('#');
        if (hash >= 0) {
            relative = relative.substring(0, hash);
        }
        Path file = schemasDir.resolve(relative).normalize();
        if (!file.startsWith(schemasDir) || !Files.isRegularFile(file)) {
            // deploymentTemplate.json points at autogeneratedResources.json, which is not in the reference set
            // (and not needed: we never validate through its "resource" definition, see adjustTemplateSchema).
            throw new IllegalStateException("schema " + iri + " is not in " + schemasDir
                    + " (the reference set lists what it holds in arm-schemas/SOURCE.txt)");
        }
        return transformed.computeIfAbsent(relative, r -> transform(r, read(file))).toString();
    }

    private static ObjectNode read(Path file) {
        try {
            return (ObjectNode) JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read schema " + file, e);
        }
    }

    private static ObjectNode transform(String relative, ObjectNode doc) {
        ObjectNode copy = doc.deepCopy();
        JsonNode id = copy.remove("id");
        if (id != null) {
            String text = id.asText();
            copy.put("$id", text.endsWith("#") ? text.substring(0, text.length() - 1) : text);
        }
        copy.put("$schema", DIALECT);
        boolean provider = !relative.startsWith("common/") && !relative.startsWith("2019-04-01/");
        if (relative.equals("2019-04-01/deploymentTemplate.json")) {
            adjustTemplateSchema(copy);
        }
        Walker walker = new Walker(provider);
        for (Iterator<Map.Entry<String, JsonNode>> it = copy.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> top = it.next();
            String key = top.getKey();
            if (key.equals("definitions") || key.endsWith("resourceDefinitions")) {
                for (Iterator<Map.Entry<String, JsonNode>> defs = top.getValue().fields(); defs.hasNext(); ) {
                    Map.Entry<String, JsonNode> def = defs.next();
                    // resource definitions and their child-resource forms are closed by the wrapper instead
                    boolean closable = key.equals("definitions") && !def.getKey().endsWith("_childResource");
                    walker.schema(def.getValue(), closable);
                }
            }
        }
        if (copy.has("properties")) {
            walker.schema(copy, false); // template and parameters-file roots are already closed upstream
        }
        return copy;
    }

    /**
     * deploymentTemplate.json: its "resource" definition enumerates every resource type through a 4 MB file that is
     * not part of the reference set; resources are validated one by one against their own type instead, so here
     * a resource only has to be an object. Parameter and output declarations are closed (a misspelled
     * "defaultValue" would otherwise pass).
     */
    private static void adjustTemplateSchema(ObjectNode doc) {
        ObjectNode defs = (ObjectNode) doc.get("definitions");
        ObjectNode anyResource = JsonNodeFactory.instance.objectNode();
        anyResource.put("type", "object");
        defs.set("resource", anyResource);
        for (String name : List.of("parameter", "output", "functionNamespace", "functionMember",
                "functionParameter", "functionOutput", "outputCopy")) {
            ((ObjectNode) defs.get(name)).put("unevaluatedProperties", false);
        }
    }

    /** Applies the two adjustments (expression wildcard everywhere, closing in provider files) to one schema tree. */
    private static final class Walker {
        private final boolean provider;

        Walker(boolean provider) {
            this.provider = provider;
        }

        void schema(JsonNode node, boolean closable) {
            if (!(node instanceof ObjectNode schema)) {
                return;
            }
            JsonNode props = schema.get("properties");
            if (props instanceof ObjectNode propsObj) {
                for (Iterator<Map.Entry<String, JsonNode>> it = propsObj.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> p = it.next();
                    schema(p.getValue(), true);
                    p.setValue(wildcard(p.getValue()));
                }
                if (provider && closable && !schema.has("additionalProperties") && !schema.has("unevaluatedProperties")
                        && !propsObj.isEmpty()) {
                    schema.put("unevaluatedProperties", false);
                }
            }
            JsonNode items = schema.get("items");
            if (items instanceof ObjectNode) {
                schema(items, true);
                schema.set("items", wildcard(items));
            }
            JsonNode additional = schema.get("additionalProperties");
            if (additional instanceof ObjectNode) {
                schema(additional, true);
                schema.set("additionalProperties", wildcard(additional));
            }
            for (String combinator : List.of("oneOf", "anyOf")) {
                for (JsonNode branch : schema.path(combinator)) {
                    schema(branch, closable);
                }
            }
            // Members of an allOf describe one object together: closing one of them alone would reject the
            // properties the others declare.
            for (JsonNode branch : schema.path("allOf")) {
                schema(branch, false);
            }
        }

        private static JsonNode wildcard(JsonNode schema) {
            if (schema.path("$ref").asText().equals(EXPRESSION_REF)) {
                return schema;
            }
            ObjectNode wrapped = JsonNodeFactory.instance.objectNode();
            ArrayNode anyOf = wrapped.putArray("anyOf");
            anyOf.addObject().put("$ref", EXPRESSION_REF);
            anyOf.add(schema);
            return wrapped;
        }
    }
}
