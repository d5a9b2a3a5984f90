package dev.tokenmeter.bridge.pipeline;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class CheckpointTrackerTest {

    private final List<String> reported = new ArrayList<>();
    private final CheckpointTracker tracker = new CheckpointTracker((p, pos) -> reported.add(p + "@" + pos.sequence()));

    @Test
    void outOfOrderSettlementsNeverPassAnUnsettledPosition() {
        var t1 = tracker.begin("0", Position.of(1));
        var t2 = tracker.begin("0", Position.of(2));
        var t3 = tracker.begin("0", Position.of(3));
        var t4 = tracker.begin("0", Position.of(4));

        tracker.settle(t3);
        tracker.settle(t2);
        assertThat(tracker.safePosition("0")).isEmpty();
        assertThat(reported).isEmpty();

        tracker.settle(t1);
        assertThat(tracker.safePosition("0")).contains(Position.of(3));
        assertThat(reported).containsExactly("0@3");

        tracker.settle(t4);
        assertThat(tracker.safePosition("0")).contains(Position.of(4));
        assertThat(tracker.pending()).isZero();
    }

    @Test
    void aPositionSettledNotWithoutALaterOneIsPassedOnlyTogetherWithIt() {
        var row = tracker.begin("0", Position.of(1));
        var other = tracker.begin("0", Position.of(2));
        var record = tracker.begin("0", Position.of(3));
        var after = tracker.begin("0", Position.of(4));

        tracker.settle(row, record);
        tracker.settle(other);
        assertThat(reported).as("1 and 2 are settled, but 3 is not: a restart at 2 would read 3 without 1").isEmpty();
        assertThat(tracker.safePosition("0")).isEmpty();

        tracker.settle(record);
        assertThat(reported).containsExactly("0@3");
        tracker.settle(after);
        assertThat(reported).containsExactly("0@3", "0@4");
        assertThat(tracker.pending()).isZero();
    }

    @Test
    void partitionsAreIndependent() {
        var a1 = tracker.begin("a", Position.of(10));
        var b1 = tracker.begin("b", Position.of(7));
        var a2 = tracker.begin("a", Position.of(11));
        tracker.settle(a2);
        tracker.settle(b1);
        assertThat(tracker.safePosition("a")).isEmpty();
        assertThat(tracker.safePosition("b")).contains(Position.of(7));
        tracker.settle(a1);
        assertThat(tracker.safePosition("a")).contains(Position.of(11));
    }

    @Test
    void aForgottenPartitionIgnoresLateSettlements() {
        var t1 = tracker.begin("0", Position.of(1));
        var t2 = tracker.begin("0", Position.of(2));
        tracker.settle(t1);
        tracker.forget("0");
        tracker.settle(t2);
        assertThat(tracker.safePosition("0")).isEmpty();
        assertThat(reported).containsExactly("0@1");
        assertThat(tracker.pending()).isZero();
    }

    @Test
    void forgettingCountsOnlyWhatWasStillUnsettled() throws InterruptedException {
        tracker.begin("0", Position.of(1));
        var t2 = tracker.begin("0", Position.of(2));
        tracker.settle(t2); // settled, but queued behind 1
        tracker.forget("0");
        assertThat(tracker.pending()).isZero();
        tracker.begin("1", Position.of(1));
        assertThat(tracker.awaitDrained(System.nanoTime() + 50_000_000L)).as("one record still in flight").isFalse();
    }

    @Test
    void aLateTicketFromAnEarlierOwnershipNeverCountsForTheNewOne() {
        var old = tracker.begin("0", Position.of(5));
        tracker.forget("0");
        var fresh = tracker.begin("0", Position.of(5));
        tracker.settle(old);
        assertThat(tracker.pending()).isEqualTo(1);
        assertThat(tracker.safePosition("0")).isEmpty();
        tracker.settle(fresh);
        assertThat(tracker.safePosition("0")).contains(Position.of(5));
        assertThat(tracker.pending()).isZero();
    }

    @Test
    void settlingTwiceCountsOnce() {
        var t1 = tracker.begin("0", Position.of(1));
        tracker.begin("0", Position.of(2));
        tracker.settle(t1);
        tracker.settle(t1);
        assertThat(tracker.pending()).isEqualTo(1);
    }
}
