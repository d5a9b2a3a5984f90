package dev.tokenmeter.bridge.rekey;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Where the re-key stage publishes its rows: the usage hub over AMQP, or a Kafka topic. Thread-safe; no method
 * throws for a send that fails, the future does (the stage retries).
 */
public interface RekeyTarget extends AutoCloseable {

    /**
     * Sends rows under one partition key (a canonical request id), which the target maps to a partition the same
     * way it maps the usage records keyed with that id. Completes once the target acknowledged every row.
     */
    CompletableFuture<Void> send(String partitionKey, List<byte[]> rows);

    /** Sends one row to one partition, whatever its key would say: ticks go to every partition. */
    CompletableFuture<Void> sendToPartition(String partitionId, byte[] row);

    /** The target's partition ids now; blocks up to the client's own timeout and throws when it cannot tell. */
    List<String> partitions();

    /** For logs: names only, never a secret. */
    String describe();

    @Override
    void close();
}
