package dev.tokenmeter.policies.render;

import dev.tokenmeter.policies.set.PolicySet;
import dev.tokenmeter.policies.source.MaskedSource;

import java.nio.file.Path;
import java.util.function.Function;

/**
 * {@code policy render}: the effective policy document APIM will run, with every fragment expanded in place and
 * the expressions exactly as written. Named values stay as {@code {{name}}} unless values are given.
 */
public final class PolicyRenderer {

    private PolicyRenderer() {
    }

    public static String render(Path policySetDir, String policyFile) {
        return render(PolicySet.load(policySetDir), policyFile, name -> null);
    }

    /** @param namedValues value for a named value, or null to keep the {@code {{name}}} reference */
    public static String render(PolicySet set, String policyFile, Function<String, String> namedValues) {
        String masked = MaskedSource.substituteNamedValues(set.effectiveMasked(policyFile), namedValues);
        return MaskedSource.unmask(masked, set.expressions());
    }
}
