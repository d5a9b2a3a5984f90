package dev.tokenmeter.policies.validate;

import dev.tokenmeter.policies.set.PolicyFile;
import dev.tokenmeter.policies.set.PolicySet;
import dev.tokenmeter.policies.source.LineNumberedXml;
import org.w3c.dom.Element;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Token and custom metrics take at most 10 custom dimensions: the limit of the azure-openai-emit-token-metric,
 * llm-emit-token-metric and emit-metric references ("Limits for custom metrics": Azure Monitor's 10 dimension keys per
 * metric), and of APIM's XSD.
 */
final class MetricDimensionRule implements Rule {

    static final int MAX_DIMENSIONS = 10;
    private static final Set<String> METRICS = Set.of("azure-openai-emit-token-metric", "llm-emit-token-metric", "emit-metric");

    @Override
    public List<Finding> check(PolicySet set) {
        List<Finding> findings = new ArrayList<>();
        for (PolicyFile file : set.files()) {
            if (!file.readable()) {
                continue;
            }
            for (Element e : Dom.all(file.document())) {
                if (!METRICS.contains(e.getTagName())) {
                    continue;
                }
                long dimensions = Dom.children(e).stream().filter(d -> d.getTagName().equals("dimension")).count();
                if (dimensions > MAX_DIMENSIONS) {
                    findings.add(new Finding(file.path(), LineNumberedXml.lineOf(e), RuleId.METRIC_DIMENSIONS,
                            "<" + e.getTagName() + "> has " + dimensions + " dimensions, at most " + MAX_DIMENSIONS + " are allowed",
                            "drop dimensions; each also multiplies the number of time series Azure Monitor keeps"));
                }
            }
        }
        return findings;
    }
}
