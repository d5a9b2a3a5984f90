package dev.tokenmeter.cli.apim;

/** Which APIM resource: its kind and name (for a policy, its scope). Orders resources in deployment order. */
public record ResourceKey(Kind kind, String name) implements Comparable<ResourceKey> {

    /** In the order a deployment writes them: what a later kind refers to must exist first. */
    public enum Kind {
        NAMED_VALUE("named value"), LOGGER("logger"), FRAGMENT("fragment"), POLICY("policy");

        private final String label;

        Kind(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /** The path below the service's resource id. */
    public String path() {
        return switch (kind) {
            case NAMED_VALUE -> "/namedValues/" + name;
            case LOGGER -> "/loggers/" + name;
            case FRAGMENT -> "/policyFragments/" + name;
            case POLICY -> PolicyScope.parse(name).path() + "/policies/policy";
        };
    }

    @Override
    public int compareTo(ResourceKey o) {
        int k = kind.compareTo(o.kind);
        return k != 0 ? k : name.compareTo(o.name);
    }

    @Override
    public String toString() {
        return kind.label() + " " + name;
    }
}
