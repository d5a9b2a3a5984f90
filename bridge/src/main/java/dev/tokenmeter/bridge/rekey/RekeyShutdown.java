package dev.tokenmeter.bridge.rekey;

import dev.tokenmeter.bridge.source.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;

/**
 * Stops the re-key stage once, in order, whichever of the main thread and the SIGTERM hook gets there first: let
 * the sends in flight be acknowledged (within the budget), checkpoint what is then safe, close the rest.
 */
public final class RekeyShutdown implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(RekeyShutdown.class);

    private final Source source;
    private final RekeyStage stage;
    private final Duration timeout;
    private final List<AutoCloseable> thenClose;
    private boolean done;
    private boolean settled;

    /** {@code thenClose}: the target, the dead letters, the ops server (null when none), closed in this order last. */
    public RekeyShutdown(Source source, RekeyStage stage, Duration timeout, AutoCloseable... thenClose) {
        this.source = source;
        this.stage = stage;
        this.timeout = timeout;
        this.thenClose = java.util.Arrays.stream(thenClose).filter(java.util.Objects::nonNull).toList();
    }

    @Override
    public synchronized void run() {
        if (done) {
            return;
        }
        done = true;
        try {
            settled = stage.close(timeout);
            source.checkpointSafePositions();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.error("final checkpoint failed; the next start re-keys from the previous one", e);
        } finally {
            for (AutoCloseable closeable : thenClose) {
                try {
                    closeable.close();
                } catch (Exception e) {
                    LOG.error("closing {} failed", closeable, e);
                }
            }
        }
    }

    public synchronized boolean settled() {
        return settled;
    }
}
