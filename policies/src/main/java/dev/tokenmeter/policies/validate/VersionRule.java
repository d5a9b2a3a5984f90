package dev.tokenmeter.policies.validate;

import dev.tokenmeter.policies.manifest.ManifestLoader;
import dev.tokenmeter.policies.manifest.PolicySetManifest;
import dev.tokenmeter.policies.set.PolicyFile;
import dev.tokenmeter.policies.set.PolicySet;
import dev.tokenmeter.policies.source.LineNumberedXml;
import org.w3c.dom.Element;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The set's semantic version is stamped everywhere it must be: each fragment's description (what APIM shows for a
 * deployed fragment) and the {@code tm-policy-version} variable the usage record copies into {@code policy_version}.
 * A release that bumps the manifest but not the stamp would mislabel every record.
 */
final class VersionRule implements Rule {

    /** The usage-record schema's pattern for policy_version. */
    static final Pattern SEMVER = Pattern.compile("^[0-9]+\\.[0-9]+\\.[0-9]+([-+][0-9A-Za-z.-]+)?$");
    static final String VERSION_VARIABLE = "tm-policy-version";

    @Override
    public List<Finding> check(PolicySet set) {
        List<Finding> findings = new ArrayList<>();
        String version = set.manifest().version();
        if (version == null || !SEMVER.matcher(version).matches()) {
            findings.add(new Finding(ManifestLoader.FILE_NAME, 0, RuleId.VERSION_STAMP, "version '" + version
                    + "' is not a semantic version", "use MAJOR.MINOR.PATCH, e.g. 1.2.0"));
            return findings;
        }
        for (PolicySetManifest.FragmentDecl fragment : set.manifest().fragments()) {
            if (fragment.description() == null || !fragment.description().contains(version)) {
                findings.add(new Finding(ManifestLoader.FILE_NAME, 0, RuleId.VERSION_STAMP, "description of fragment "
                        + fragment.id() + " does not carry the version " + version,
                        "start the description with 'tokenmeter " + version + ": '"));
            }
        }
        boolean stamped = false;
        for (PolicyFile file : set.files()) {
            if (!file.readable()) {
                continue;
            }
            for (Element e : Dom.all(file.document())) {
                if (e.getTagName().equals("set-variable") && VERSION_VARIABLE.equals(e.getAttribute("name"))) {
                    stamped = true;
                    if (!version.equals(e.getAttribute("value"))) {
                        findings.add(new Finding(file.path(), LineNumberedXml.lineOf(e), RuleId.VERSION_STAMP,
                                VERSION_VARIABLE + " is '" + e.getAttribute("value") + "' but the set is version " + version,
                                "set value=\"" + version + "\" (the usage record's policy_version comes from it)"));
                    }
                }
            }
        }
        if (!stamped && set.manifest().loggers().size() > 0) {
            findings.add(new Finding(ManifestLoader.FILE_NAME, 0, RuleId.VERSION_STAMP, "no fragment sets "
                    + VERSION_VARIABLE + ", so usage records cannot carry policy_version",
                    "add <set-variable name=\"" + VERSION_VARIABLE + "\" value=\"" + version + "\" /> to the usage-log fragment"));
        }
        return findings;
    }
}
