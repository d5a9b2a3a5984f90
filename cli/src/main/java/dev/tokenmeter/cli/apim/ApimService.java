package dev.tokenmeter.cli.apim;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenmeter.cli.CliFailure;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/** One API Management service: reads and writes its policy-set resources through ARM. */
public final class ApimService {

    /** A resource as deployed, with the ETag that a conditional write must present. */
    public record Deployed(ApimResource resource, String etag) {
    }

    /** Which service, and where each part of its name came from (a flag, a variable, an environment file). */
    public record Target(String subscription, String resourceGroup, String service, Map<String, String> origins) {
        String origin(String part) {
            return origins.getOrDefault(part, "--" + part);
        }
    }

    private final ArmClient arm;
    private final String serviceId;
    private final Target target;

    public ApimService(ArmClient arm, String subscription, String resourceGroup, String service) {
        this(arm, new Target(subscription, resourceGroup, service, Map.of()));
    }

    public ApimService(ArmClient arm, Target target) {
        this.arm = arm;
        this.target = target;
        this.serviceId = "/subscriptions/" + target.subscription() + "/resourceGroups/" + target.resourceGroup()
                + "/providers/Microsoft.ApiManagement/service/" + target.service();
    }

    /**
     * Fails unless the service and every scope exist. A read of a single resource answers 404 both when the resource
     * is absent (normal: a deployment creates it) and when its service or API is; without this check a wrong name
     * looks like "not deployed" and plans to create everything. Collections are asked instead: their 404 means the
     * parent is missing, and ARM's error code says which part of the name is wrong.
     */
    public void requireTargets(List<PolicyScope> scopes) {
        try {
            arm.list(serviceId + "/namedValues");
        } catch (ArmException e) {
            if (e.status() != 404) {
                throw e;
            }
            throw new CliFailure(switch (e.code()) {
                case "SubscriptionNotFound" -> "subscription " + target.subscription() + " not found (or this identity "
                        + "cannot see it): check " + target.origin("subscription");
                case "ResourceGroupNotFound" -> "resource group " + target.resourceGroup() + " not found in subscription "
                        + target.subscription() + ": check " + target.origin("resource-group");
                default -> "API Management service " + target.service() + " not found in resource group "
                        + target.resourceGroup() + " of subscription " + target.subscription() + ": check "
                        + target.origin("service");
            }, e);
        }
        for (PolicyScope scope : scopes) {
            if (scope instanceof PolicyScope.Global) {
                continue;
            }
            try {
                arm.list(serviceId + scope.path() + "/policies");
            } catch (ArmException e) {
                if (e.status() != 404) {
                    throw e;
                }
                String what = scope instanceof PolicyScope.Api a ? "API " + a.apiId()
                        : scope instanceof PolicyScope.Product p ? "product " + p.productId()
                        : "operation " + ((PolicyScope.Operation) scope).operationId() + " of API "
                        + ((PolicyScope.Operation) scope).apiId();
                throw new CliFailure(what + " not found on " + serviceId + ": check " + target.origin("scope")
                        + " " + scope + " (the id in the API Management resource path, not its display name)", e);
            }
        }
    }

    public String id() {
        return serviceId;
    }

    public Target target() {
        return target;
    }

    /**
     * The ids of every resource of a kind on the service (named values, loggers, fragments), page by page: a
     * collection answers with a nextLink while there is more, and $skip asks for the rest.
     */
    public List<String> names(ResourceKey.Kind kind) {
        String collection = switch (kind) {
            case NAMED_VALUE -> "/namedValues";
            case LOGGER -> "/loggers";
            case FRAGMENT -> "/policyFragments";
            case POLICY -> throw new IllegalArgumentException("policies are read per scope");
        };
        List<String> names = new java.util.ArrayList<>();
        while (true) {
            JsonNode page = arm.list(serviceId + collection, names.isEmpty() ? Map.of()
                    : Map.of("$skip", String.valueOf(names.size()))).body();
            int before = names.size();
            page.path("value").forEach(v -> names.add(v.path("name").asText()));
            if (page.path("nextLink").asText("").isBlank() || names.size() == before) {
                return List.copyOf(names);
            }
        }
    }

    public Optional<Deployed> read(ResourceKey key) {
        // policies and fragments are read as rawxml, the format they are written in
        Map<String, String> query = key.kind() == ResourceKey.Kind.POLICY || key.kind() == ResourceKey.Kind.FRAGMENT
                ? Map.of("format", ApimResource.RAW_XML) : Map.of();
        return arm.get(serviceId + key.path(), query)
                .map(a -> new Deployed(ApimResource.fromArm(key, a.body()), a.etag()));
    }

    /** Creates (etag null) or replaces (etag of the version read) a resource. */
    public Deployed write(ApimResource resource, String etag) {
        ArmClient.Answer answer = arm.put(serviceId + resource.key().path(), resource.toBody(), etag);
        return new Deployed(ApimResource.fromArm(resource.key(), answer.body()), answer.etag());
    }

    public void delete(ResourceKey key, String etag) {
        arm.delete(serviceId + key.path(), etag);
    }

    /** The value of a secret named value, which a plain read never returns. */
    public String secretValue(String namedValueId) {
        JsonNode body = arm.post(serviceId + "/namedValues/" + namedValueId + "/listValue").body();
        return body.path("value").asText();
    }
}
