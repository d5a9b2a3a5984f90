package dev.tokenmeter.bridge.join;

/** What the join reports for operations (metrics); never an input to a decision. */
public interface JoinObserver {

    /** A row that billed nothing. */
    enum RowOutcome {
        /** No record waited for it and none came within the window. */
        ORPHAN("orphan"),
        /** The same counts again for an id already joined or waiting. */
        DUPLICATE("duplicate"),
        /** Different counts for an id whose first row was already taken: the first one counts. */
        CONFLICT("conflict"),
        /** A non-streamed request's row: its record was billed from the response itself. */
        NON_STREAM("non_stream");

        private final String label;

        RowOutcome(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    void joined(double lagSeconds);

    void estimated(EstimateReason reason);

    /** A late row corrected an estimate; {@code clampedTokens} were where the estimate was higher (not refunded). */
    void corrected(long clampedTokens);

    void row(RowOutcome outcome);

    JoinObserver NONE = new JoinObserver() {
        @Override
        public void joined(double lagSeconds) {
        }

        @Override
        public void estimated(EstimateReason reason) {
        }

        @Override
        public void corrected(long clampedTokens) {
        }

        @Override
        public void row(RowOutcome outcome) {
        }
    };
}
