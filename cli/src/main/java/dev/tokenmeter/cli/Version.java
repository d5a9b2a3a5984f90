package dev.tokenmeter.cli;

import picocli.CommandLine.IVersionProvider;

/** The version Maven wrote into the jar's manifest (unknown when run from classes). */
public final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = Version.class.getPackage().getImplementationVersion();
        return new String[]{"tokenmeter " + (v == null ? "(development build)" : v)};
    }
}
