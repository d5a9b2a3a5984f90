package dev.tokenmeter.bridge.deadletter;

import java.time.Instant;

/**
 * Input the bridge could not deliver, kept with everything needed to understand and replay it.
 *
 * @param original the record's bytes exactly as the source delivered them
 * @param event    for events the sink rejected: the CloudEvent JSON that was refused; otherwise null
 */
public record DeadLetter(
        Instant at,
        Reason reason,
        String detail,
        String partition,
        String position,
        String requestId,
        byte[] original,
        byte[] event) {

    /** Closed set of why something became a dead letter; the metric label and the file's {@code reason} field. */
    public enum Reason {
        INVALID_RECORD("invalid_record"),
        REJECTED_BY_SINK("rejected_by_sink"),
        /** The bridge itself failed on this record (a bug): kept rather than stopping the partition. */
        INTERNAL_ERROR("internal_error"),
        /** File mode: not acknowledged by the sink when the run's deadline passed. */
        UNDELIVERED("undelivered");

        private final String label;

        Reason(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }

        /** @throws IllegalArgumentException listing the labels there are */
        public static Reason fromLabel(String label) {
            for (Reason reason : values()) {
                if (reason.label.equals(label)) {
                    return reason;
                }
            }
            throw new IllegalArgumentException("unknown dead-letter reason '" + label + "': one of "
                    + java.util.Arrays.stream(values()).map(Reason::label).toList());
        }
    }
}
