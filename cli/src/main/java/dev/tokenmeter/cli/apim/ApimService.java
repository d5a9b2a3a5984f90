package dev.tokenmeter.cli.apim;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Map;
import java.util.Optional;

/** One API Management service: reads and writes its policy-set resources through ARM. */
public final class ApimService {

    /** A resource as deployed, with the ETag that a conditional write must present. */
    public record Deployed(ApimResource resource, String etag) {
    }

    private final ArmClient arm;
    private final String serviceId;

    public ApimService(ArmClient arm, String subscription, String resourceGroup, String service) {
        this.arm = arm;
        this.serviceId = "/subscriptions/" + subscription + "/resourceGroups/" + resourceGroup
                + "/providers/Microsoft.ApiManagement/service/" + service;
    }

    public String id() {
        return serviceId;
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
