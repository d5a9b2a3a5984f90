package dev.tokenmeter.bridge.source.testing;

import com.azure.messaging.eventhubs.CheckpointStore;
import com.azure.messaging.eventhubs.models.Checkpoint;
import com.azure.messaging.eventhubs.models.PartitionOwnership;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** Keeps checkpoints in memory and remembers every write, for tests of the handler logic without storage. */
public final class InMemoryCheckpointStore implements CheckpointStore {

    private final Map<String, Checkpoint> checkpoints = new ConcurrentHashMap<>();
    public final List<Checkpoint> writes = new CopyOnWriteArrayList<>();

    @Override
    public Flux<PartitionOwnership> listOwnership(String namespace, String hub, String group) {
        return Flux.empty();
    }

    @Override
    public Flux<Checkpoint> listCheckpoints(String namespace, String hub, String group) {
        return Flux.fromIterable(checkpoints.values());
    }

    @Override
    public Flux<PartitionOwnership> claimOwnership(List<PartitionOwnership> requested) {
        return Flux.fromIterable(requested);
    }

    @Override
    public Mono<Void> updateCheckpoint(Checkpoint checkpoint) {
        return Mono.fromRunnable(() -> {
            writes.add(checkpoint);
            checkpoints.put(checkpoint.getPartitionId(), checkpoint);
        });
    }

    public Checkpoint checkpoint(String partition) {
        return checkpoints.get(partition);
    }
}
