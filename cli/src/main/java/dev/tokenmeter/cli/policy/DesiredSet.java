package dev.tokenmeter.cli.policy;

import dev.tokenmeter.cli.apim.ApimResource;

import java.util.List;
import java.util.Set;

/**
 * The resources a deployment of the local set writes, in deployment order, the loggers it needs but does not
 * manage (no Event Hub options given: those must already exist), and the named values left at a manifest
 * placeholder. {@code ownFragments} are the set's fragment ids: with {@code mergePolicies}, a policy a scope already
 * has keeps everything but the includes of these (see {@link ApiPolicyMerge}); without, the document replaces it.
 */
record DesiredSet(String name, String version, List<ApimResource> resources, List<String> requiredLoggers,
                  List<String> placeholders, Set<String> ownFragments, boolean mergePolicies) {
    DesiredSet {
        resources = resources.stream().sorted((a, b) -> a.key().compareTo(b.key())).toList();
        requiredLoggers = List.copyOf(requiredLoggers);
        placeholders = List.copyOf(placeholders);
        ownFragments = Set.copyOf(ownFragments);
    }
}
