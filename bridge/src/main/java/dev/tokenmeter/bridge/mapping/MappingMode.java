package dev.tokenmeter.bridge.mapping;

/** The two event shapes the bridge can send; meters must be set up for the one in use. */
public enum MappingMode {
    /** One event per request carrying every count ({@link RequestEventMapper}). */
    REQUEST("request"),
    /** OpenMeter's LLM shape: one event per token type ({@link PerTokenTypeEventMapper}). */
    PER_TOKEN_TYPE("per-token-type");

    private final String label;

    MappingMode(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    public EventMapper mapper(EventSettings settings) {
        return switch (this) {
            case REQUEST -> new RequestEventMapper(settings);
            case PER_TOKEN_TYPE -> new PerTokenTypeEventMapper(settings);
        };
    }

    public static MappingMode parse(String value) {
        for (MappingMode mode : values()) {
            if (mode.label.equalsIgnoreCase(value) || mode.name().equalsIgnoreCase(value)) {
                return mode;
            }
        }
        throw new IllegalArgumentException("unknown event mapping '" + value + "': use request or per-token-type");
    }

    @Override
    public String toString() {
        return label;
    }
}
