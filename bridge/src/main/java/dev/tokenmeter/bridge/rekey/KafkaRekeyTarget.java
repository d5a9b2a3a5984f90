package dev.tokenmeter.bridge.rekey;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;

/**
 * A Kafka topic as the re-key target, for deployments without Event Hubs. Each row's record key is the canonical
 * request id, so Kafka's default partitioner puts it on the partition of every other record with that key: the
 * usage records must be produced to the topic keyed by request id too. Not for Event Hubs' Kafka endpoint, whose
 * usage records APIM sends with an Event Hubs partition key that this partitioner does not reproduce.
 */
public final class KafkaRekeyTarget implements RekeyTarget {

    private final String topic;
    private final String bootstrapServers;
    private final Producer<byte[], byte[]> producer;

    public KafkaRekeyTarget(RekeyTargetSettings.Kafka settings) {
        this.topic = settings.topic();
        this.bootstrapServers = settings.bootstrapServers();
        this.producer = new KafkaProducer<>(producerConfig(settings));
    }

    /** acks=all and idempotence: a row is acknowledged only once every in-sync replica has it, once, in order. */
    static Properties producerConfig(RekeyTargetSettings.Kafka settings) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "tokenmeter-rekey");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        // send() runs on the stage's retry threads: while the cluster is unreachable it should fail and be retried
        // with backoff rather than hold a thread for the client's default minute
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "10000");
        if (settings.securityProtocol() != null) {
            p.put("security.protocol", settings.securityProtocol());
        }
        return p;
    }

    @Override
    public CompletableFuture<Void> send(String partitionKey, List<byte[]> rows) {
        byte[] key = partitionKey.getBytes(StandardCharsets.UTF_8);
        CompletableFuture<?>[] acks = new CompletableFuture<?>[rows.size()];
        try {
            for (int i = 0; i < rows.size(); i++) {
                acks[i] = send(new ProducerRecord<>(topic, key, rows.get(i)));
            }
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        return CompletableFuture.allOf(acks);
    }

    @Override
    public CompletableFuture<Void> sendToPartition(String partitionId, byte[] row) {
        try {
            return send(new ProducerRecord<>(topic, Integer.parseInt(partitionId), null, row));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private CompletableFuture<Void> send(ProducerRecord<byte[], byte[]> record) {
        CompletableFuture<Void> ack = new CompletableFuture<>();
        producer.send(record, (metadata, error) -> {
            if (error == null) {
                ack.complete(null);
            } else {
                ack.completeExceptionally(error);
            }
        });
        return ack;
    }

    @Override
    public List<String> partitions() {
        return producer.partitionsFor(topic).stream()
                .map(PartitionInfo::partition)
                .sorted(Comparator.naturalOrder())
                .map(String::valueOf)
                .toList();
    }

    @Override
    public String describe() {
        return "kafka topic " + topic + " at " + bootstrapServers;
    }

    @Override
    public void close() {
        // whatever is unacknowledged now was never settled, so it is not checkpointed and is re-keyed again
        producer.close(Duration.ofSeconds(5));
    }
}
