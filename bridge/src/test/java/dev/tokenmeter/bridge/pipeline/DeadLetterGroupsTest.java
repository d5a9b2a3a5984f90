package dev.tokenmeter.bridge.pipeline;

import dev.tokenmeter.bridge.deadletter.DeadLetter;
import dev.tokenmeter.bridge.deadletter.DeadLetterStore;
import dev.tokenmeter.bridge.source.testing.CollectingSink;
import dev.tokenmeter.bridge.support.Eventually;
import dev.tokenmeter.bridge.support.TestPipeline;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bad records queue up behind a slow flush instead of each paying their own, and still settle only once stored:
 * the checkpoint never passes a letter that is not durable.
 */
class DeadLetterGroupsTest {

    /** Records each group it is asked to store; the first flush waits until the test lets it go. */
    static final class SlowFirstFlush implements DeadLetterStore {
        final List<Integer> groups = new CopyOnWriteArrayList<>();
        final CountDownLatch firstStarted = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        @Override
        public void write(DeadLetter letter) throws java.io.IOException {
            writeAll(List.of(letter));
        }

        @Override
        public void writeAll(List<DeadLetter> letters) throws java.io.IOException {
            if (groups.isEmpty()) {
                firstStarted.countDown();
                try {
                    release.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException();
                }
            }
            groups.add(letters.size());
        }

        @Override
        public long written() {
            return groups.stream().mapToLong(Integer::longValue).sum();
        }

        @Override
        public String describe() {
            return "test store";
        }
    }

    @Test
    void lettersThatArriveDuringAFlushGoInTheNextOneAndSettleOnlyAfterIt() throws Exception {
        SlowFirstFlush store = new SlowFirstFlush();
        TestPipeline t = new TestPipeline(new CollectingSink(), store, TestPipeline.settings(10, 2), (p, pos) -> { });
        t.pipeline.submit(new SourceRecord("0", Position.of(0), "bad 0".getBytes(StandardCharsets.UTF_8)));
        assertThat(store.firstStarted.await(30, TimeUnit.SECONDS)).isTrue();
        for (int i = 1; i <= 400; i++) {
            // the source is not held up by the flush in progress
            t.pipeline.submit(new SourceRecord("0", Position.of(i), ("bad " + i).getBytes(StandardCharsets.UTF_8)));
        }
        assertThat(t.checkpoints).as("nothing is stored yet, so nothing is checkpointed").isEmpty();

        store.release.countDown();
        Eventually.await("every letter stored and settled", Duration.ofSeconds(30),
                () -> t.checkpoints.containsKey("0") && t.checkpoints.get("0").sequence() == 400);
        assertThat(store.groups).containsExactly(1, 400);
        assertThat(t.pipeline.close(Duration.ofSeconds(30))).isTrue();
        assertThat(t.metric("tokenmeter_dead_letters_total{reason=\"invalid_record\"}")).isEqualTo(401);
    }
}
