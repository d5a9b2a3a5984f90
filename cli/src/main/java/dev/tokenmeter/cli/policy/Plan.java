package dev.tokenmeter.cli.policy;

import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.apim.ApimResource;
import dev.tokenmeter.cli.apim.ApimService;
import dev.tokenmeter.cli.apim.ResourceKey;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** What a deployment of the local set would do to one service, resource by resource. */
record Plan(DesiredSet set, List<Change> changes, List<String> missingLoggers) {

    enum Action {
        CREATE, UPDATE, UNCHANGED
    }

    /** One resource: the local version, and the deployed one with its ETag (null when absent). */
    record Change(ResourceKey key, Action action, ApimResource desired, ApimService.Deployed current) {
        String diff() {
            String before = current == null ? "" : current.resource().reviewText();
            String after = desired.reviewText();
            if (action == Action.UPDATE && before.equals(after)) {
                // only a plain secret's value differs (listValue said so): name the change, never the values
                before = "secret: (deployed value, not shown)";
                after = "secret: (new value, not shown)";
            }
            return UnifiedDiff.of("deployed/" + key, before, "local/" + key, after);
        }
    }

    static Plan of(ApimService service, DesiredSet set) {
        service.requireTargets(set.resources().stream().filter(r -> r instanceof ApimResource.Policy)
                .map(r -> ((ApimResource.Policy) r).scope()).toList());
        List<Change> changes = new ArrayList<>();
        for (ApimResource wanted : set.resources()) {
            Optional<ApimService.Deployed> current = service.read(wanted.key());
            ApimResource desired = wanted;
            if (set.mergePolicies() && wanted instanceof ApimResource.Policy p && current.isPresent()) {
                String theirs = ((ApimResource.Policy) current.get().resource()).value();
                try {
                    desired = new ApimResource.Policy(p.scope(), ApiPolicyMerge.merge(theirs, p.value(), set.ownFragments()));
                } catch (CliFailure e) {
                    throw new CliFailure("policy " + p.scope() + ": " + e.getMessage()
                            + "; fix it on the service, or deploy a complete document with --policy FILE", e);
                }
            }
            Action action = current.isEmpty() ? Action.CREATE
                    : same(service, desired, current.get().resource()) ? Action.UNCHANGED : Action.UPDATE;
            changes.add(new Change(desired.key(), action, desired, current.orElse(null)));
        }
        List<String> missing = new ArrayList<>();
        for (String logger : set.requiredLoggers()) {
            if (service.read(new ResourceKey(ResourceKey.Kind.LOGGER, logger)).isEmpty()) {
                missing.add(logger);
            }
        }
        return new Plan(set, List.copyOf(changes), List.copyOf(missing));
    }

    /** A plain secret is compared through listValue, since APIM never shows it on a read. */
    private static boolean same(ApimService service, ApimResource desired, ApimResource deployed) {
        if (!desired.reviewText().equals(deployed.reviewText())) {
            return false;
        }
        if (desired instanceof ApimResource.NamedValue nv && nv.secret() && nv.keyVault() == null) {
            return nv.value().equals(service.secretValue(nv.id()));
        }
        return true;
    }

    List<Change> pending() {
        return changes.stream().filter(c -> c.action() != Action.UNCHANGED).toList();
    }

    boolean inSync() {
        return pending().isEmpty() && missingLoggers.isEmpty();
    }
}
