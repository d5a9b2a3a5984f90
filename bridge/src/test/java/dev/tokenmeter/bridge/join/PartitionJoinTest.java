package dev.tokenmeter.bridge.join;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The join's decisions on one partition, with time given in minutes of enqueued time. A decision reads as
 * {@code joined r1 (row r1)}, {@code estimated r1 no_llm_log}, {@code corrected r1}, {@code release c:r1}; a claim
 * is named for what it stands for ({@code c:r1} the record, {@code c:row1} a row).
 */
class PartitionJoinTest {

    private static final long MINUTE = 60_000;
    private final List<String> observed = new ArrayList<>();
    private final JoinObserver observer = new JoinObserver() {
        @Override
        public void joined(double lagSeconds) {
            observed.add("joined after " + (long) lagSeconds + " s");
        }

        @Override
        public void estimated(EstimateReason reason) {
            observed.add("estimated " + reason.label());
        }

        @Override
        public void corrected(long clampedTokens) {
        }

        @Override
        public void row(RowOutcome outcome) {
            observed.add("row " + outcome.label());
        }
    };
    private PartitionJoin<String, String> join = joinWith(Duration.ofMinutes(20), Duration.ofMinutes(10));

    private PartitionJoin<String, String> joinWith(Duration window, Duration late) {
        return new PartitionJoin<>(new JoinSettings(true, window, late, 1000), observer);
    }

    private static LlmUsage row(String id, long minute, long prompt, long completion) {
        return new LlmUsage(id, Instant.ofEpochMilli(minute * MINUTE), "gpt-4o", prompt + completion > 0 ? "gpt-4o-2024-08-06" : null,
                "2024-10-21", true, prompt, completion, prompt + completion, 0L, "chatcmpl-1");
    }

    private List<String> record(String id, long minute) {
        List<JoinDecision<String, String>> out = new ArrayList<>();
        join.record(id, id, "c:" + id, minute * MINUTE, out);
        return describe(out);
    }

    private List<String> row(LlmUsage row, String claim, long minute) {
        List<JoinDecision<String, String>> out = new ArrayList<>();
        join.row(row, claim, minute * MINUTE, out);
        return describe(out);
    }

    private List<String> tick(long minute) {
        List<JoinDecision<String, String>> out = new ArrayList<>();
        join.other(minute * MINUTE, out);
        return describe(out);
    }

    private static List<String> describe(List<JoinDecision<String, String>> decisions) {
        List<String> described = new ArrayList<>();
        for (JoinDecision<String, String> d : decisions) {
            if (d instanceof JoinDecision.Joined<String, String> j) {
                described.add("joined " + j.record() + " (" + j.row().completionTokens() + " completion, with "
                        + j.rowClaim() + ")");
            } else if (d instanceof JoinDecision.Estimated<String, String> e) {
                described.add("estimated " + e.record() + " " + e.reason().label());
            } else if (d instanceof JoinDecision.Corrected<String, String> c) {
                described.add("corrected " + c.record() + " (" + c.row().completionTokens() + " completion)");
            } else if (d instanceof JoinDecision.Release<String, String> r) {
                described.add("release " + r.claim() + (r.notWithout() == null ? "" : " not without " + r.notWithout()));
            }
        }
        return described;
    }

    @Test
    void aRecordWaitsForItsRowAndIsBilledWithTheRowsCounts() {
        assertThat(record("r1", 0)).isEmpty();
        assertThat(join.held()).isEqualTo(1);
        assertThat(row(row("r1", 2, 63, 15), "c:row1", 2))
                .containsExactly("joined r1 (15 completion, with c:row1)", "release c:r1", "release c:row1");
        assertThat(join.held()).isZero();
        assertThat(observed).containsExactly("joined after 120 s");
    }

    @Test
    void withoutARowTheEstimateGoesOutOnceTheWatermarkPassesTheWindowNeverOnTheWallClock() {
        record("r1", 0);
        assertThat(tick(20)).as("at exactly W the record still waits").isEmpty();
        assertThat(tick(21)).containsExactly("estimated r1 no_llm_log");
        assertThat(join.held()).as("the estimate is remembered for the late window").isEqualTo(1);
        assertThat(tick(31)).containsExactly("release c:r1");
        assertThat(join.held()).isZero();
    }

    @Test
    void aRowAfterTheWindowCorrectsTheEstimateOnceWhileItIsRemembered() {
        record("r1", 0);
        tick(21);
        assertThat(row(row("r1", 22, 63, 15), "c:row1", 22))
                .containsExactly("corrected r1 (15 completion)", "release c:r1", "release c:row1");
        assertThat(row(row("r1", 23, 63, 15), "c:row2", 23)).as("nothing waits for it any more: it waits itself")
                .isEmpty();
        assertThat(tick(44)).containsExactly("release c:row2");
        assertThat(observed).contains("row orphan");
    }

    @Test
    void aRowAfterTheLateWindowCorrectsNothing() {
        record("r1", 0);
        tick(21);
        tick(31);
        assertThat(row(row("r1", 32, 63, 15), "c:row1", 32)).isEmpty();
        assertThat(tick(53)).containsExactly("release c:row1");
    }

    @Test
    void aRowThatOvertakesItsRecordWaitsForItAndHoldsItsOwnPositionUntilThen() {
        assertThat(row(row("r1", 0, 63, 15), "c:row1", 0)).isEmpty();
        assertThat(join.held()).isEqualTo(1);
        assertThat(record("r1", 1)).as("checkpointing past the row but not its record would lose the join on replay")
                .containsExactly("joined r1 (15 completion, with c:row1)", "release c:r1", "release c:row1 not without c:r1");
    }

    @Test
    void aRowWithoutCountsBillsTheEstimateAtOnceAndALaterRowWithCountsCorrectsIt() {
        record("r1", 0);
        assertThat(row(row("r1", 1, 0, 0), "c:row1", 1))
                .containsExactly("estimated r1 llm_log_without_usage", "release c:row1");
        assertThat(row(row("r1", 2, 63, 15), "c:row2", 2))
                .containsExactly("corrected r1 (15 completion)", "release c:r1", "release c:row2");
    }

    @Test
    void duplicatesConflictsAndNonStreamedRowsBillNothing() {
        row(row("r1", 0, 63, 15), "c:row1", 0);
        assertThat(row(row("r1", 0, 63, 15), "c:row2", 0)).containsExactly("release c:row2");
        assertThat(row(row("r1", 0, 70, 15), "c:row3", 0)).containsExactly("release c:row3");
        LlmUsage nonStream = new LlmUsage("r2", Instant.EPOCH, "gpt-4o", "gpt-4o-2024-08-06", null, false, 10, 5, 15,
                null, null);
        assertThat(row(nonStream, "c:row4", 0)).containsExactly("release c:row4");
        assertThat(observed).containsExactly("row duplicate", "row conflict", "row non_stream");
        assertThat(record("r1", 1)).as("the first row counts").containsExactly(
                "joined r1 (15 completion, with c:row1)", "release c:r1", "release c:row1 not without c:r1");
    }

    @Test
    void aRecordThatDoesNotWaitLetsGoOfTheRowThatCameAheadOfIt() {
        row(row("r1", 0, 63, 15), "c:row1", 0);
        List<JoinDecision<String, String>> out = new ArrayList<>();
        join.notWaiting("r1", MINUTE, out);
        assertThat(describe(out)).containsExactly("release c:row1");
    }

    @Test
    void theSameRecordTwiceBillsOnce() {
        record("r1", 0);
        assertThat(record("r1", 0)).containsExactly("release c:r1");
        assertThat(row(row("r1", 1, 63, 15), "c:row1", 1)).hasSize(3);
    }

    @Test
    void theEndOfTheInputDecidesEverythingAndReleasesEveryClaim() {
        record("r1", 0);
        record("r2", 1);
        tick(21);
        row(row("r9", 21, 1, 1), "c:row9", 21);
        List<JoinDecision<String, String>> out = new ArrayList<>();
        join.end(out);
        assertThat(describe(out)).containsExactlyInAnyOrder("estimated r2 no_llm_log", "release c:r2",
                "release c:r1", "release c:row9");
        assertThat(join.held()).isZero();
    }

    @Test
    void withoutALateWindowTheEstimateLetsGoAtOnce() {
        join = joinWith(Duration.ofMinutes(20), Duration.ZERO);
        record("r1", 0);
        assertThat(tick(21)).containsExactly("estimated r1 no_llm_log", "release c:r1");
    }

    @Test
    void abandoningDecidesNothing() {
        record("r1", 0);
        row(row("r2", 0, 1, 1), "c:row2", 0);
        join.abandon();
        assertThat(join.held()).isZero();
        assertThat(tick(100)).isEmpty();
    }
}
