package dev.tokenmeter.bridge.source.testing;

import ch.qos.logback.classic.Level;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.function.IntFunction;
import java.util.stream.Stream;

/**
 * A real single-node Apache Kafka (KRaft, broker and controller in one) inside the test JVM, on free loopback
 * ports, with its data in a temporary directory that {@link #close()} deletes. Besides a PLAINTEXT listener it has
 * a SASL_PLAINTEXT one with PLAIN, whose only user is {@code $ConnectionString} with an Event Hubs connection
 * string as password: the way Event Hubs' Kafka endpoint authenticates (there over TLS).
 */
public final class KafkaBroker implements AutoCloseable {

    /** The password the SASL listener accepts for {@code $ConnectionString}; made up, in Event Hubs' shape. */
    public static final String CONNECTION_STRING = "Endpoint=sb://tokenmeter-test.servicebus.windows.net/;"
            + "SharedAccessKeyName=listen;SharedAccessKey=dGVzdC1rZXktbm90LWEtc2VjcmV0;EntityPath=usage";

    private final Path dir;
    private final KafkaRaftServer server;
    private final int plainPort;
    private final int saslPort;

    private KafkaBroker() throws Exception {
        quietLogs();
        dir = Files.createTempDirectory("tokenmeter-kafka-");
        plainPort = freePort();
        saslPort = freePort();
        int controllerPort = freePort();
        Map<String, Object> props = new HashMap<>();
        props.put("process.roles", "broker,controller");
        props.put("node.id", "1");
        props.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        props.put("listeners", "PLAINTEXT://127.0.0.1:" + plainPort + ",SASL_PLAINTEXT://127.0.0.1:" + saslPort
                + ",CONTROLLER://127.0.0.1:" + controllerPort);
        props.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + plainPort + ",SASL_PLAINTEXT://127.0.0.1:" + saslPort);
        props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT");
        props.put("controller.listener.names", "CONTROLLER");
        props.put("inter.broker.listener.name", "PLAINTEXT");
        props.put("sasl.enabled.mechanisms", "PLAIN");
        props.put("listener.name.sasl_plaintext.plain.sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required user_$ConnectionString=\""
                        + CONNECTION_STRING + "\";");
        props.put("log.dirs", dir.toString());
        props.put("offsets.topic.replication.factor", "1");
        props.put("offsets.topic.num.partitions", "4");
        props.put("transaction.state.log.replication.factor", "1");
        props.put("transaction.state.log.min.isr", "1");
        props.put("group.initial.rebalance.delay.ms", "0");
        props.put("auto.create.topics.enable", "false");
        props.put("num.network.threads", "2");
        props.put("num.io.threads", "2");
        props.put("log.segment.bytes", Integer.toString(64 * 1024 * 1024));
        KafkaConfig config = new KafkaConfig(props);
        new Formatter()
                .setPrintStream(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()))
                .setNodeId(1)
                .setClusterId(Uuid.randomUuid().toString())
                .setControllerListenerName("CONTROLLER")
                .setMetadataLogDirectory(dir.toString())
                .addDirectory(dir.toString())
                .run();
        server = new KafkaRaftServer(config, Time.SYSTEM);
        server.startup();
    }

    public static KafkaBroker start() {
        try {
            return new KafkaBroker();
        } catch (Exception e) {
            throw new IllegalStateException("could not start the test Kafka broker", e);
        }
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + plainPort;
    }

    /** The listener that wants SASL PLAIN with user {@code $ConnectionString}. */
    public String saslBootstrapServers() {
        return "127.0.0.1:" + saslPort;
    }

    /**
     * Creates the topic and returns once every partition has a leader that answers: createTopics returns when the
     * controller has recorded the topic, before the broker leads its partitions, and a producer that starts in that
     * gap on a busy machine got NOT_LEADER_OR_FOLLOWER and then endless OUT_OF_ORDER_SEQUENCE_NUMBER.
     */
    public void createTopic(String name, int partitions) {
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get();
            Map<TopicPartition, OffsetSpec> request = new HashMap<>();
            for (int p = 0; p < partitions; p++) {
                request.put(new TopicPartition(name, p), OffsetSpec.latest());
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (true) {
                try {
                    // answered by each partition's leader, so it succeeds only once every partition is led
                    admin.listOffsets(request).all().get();
                    return;
                } catch (java.util.concurrent.ExecutionException notYet) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("topic " + name + " has no leader for every partition after 60 s", notYet);
                    }
                    Thread.sleep(20);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted creating topic " + name, e);
        } catch (Exception e) {
            throw new IllegalStateException("could not create topic " + name, e);
        }
    }

    /** The group's committed offsets (the next offset to read) per partition of the topic. */
    public Map<Integer, Long> committedOffsets(String group, String topic) {
        try (Admin admin = admin()) {
            Map<Integer, Long> result = new HashMap<>();
            admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get().forEach((tp, o) -> {
                if (tp.topic().equals(topic) && o != null) {
                    result.put(tp.partition(), o.offset());
                }
            });
            return result;
        } catch (Exception e) {
            throw new IllegalStateException("could not read offsets of group " + group, e);
        }
    }

    /** The offset the next produced record of each partition will get. */
    public Map<Integer, Long> endOffsets(String topic, int partitions) {
        try (Admin admin = admin()) {
            Map<TopicPartition, OffsetSpec> request = new HashMap<>();
            for (int p = 0; p < partitions; p++) {
                request.put(new TopicPartition(topic, p), OffsetSpec.latest());
            }
            Map<Integer, Long> result = new HashMap<>();
            admin.listOffsets(request).all().get().forEach((tp, info) -> result.put(tp.partition(), info.offset()));
            return result;
        } catch (Exception e) {
            throw new IllegalStateException("could not read end offsets of " + topic, e);
        }
    }

    /** Every record of the topic, from the start to the end offsets of now. */
    public List<ConsumerRecord<byte[], byte[]>> readAll(String topic, int partitions) {
        Map<Integer, Long> end = endOffsets(topic, partitions);
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
            List<TopicPartition> all = new ArrayList<>();
            for (int i = 0; i < partitions; i++) {
                all.add(new TopicPartition(topic, i));
            }
            consumer.assign(all);
            consumer.seekToBeginning(all);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            Set<TopicPartition> open = new HashSet<>(all);
            while (!open.isEmpty()) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("could not read " + topic + " to its end offsets " + end);
                }
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
                open.removeIf(tp -> consumer.position(tp) >= end.get(tp.partition()));
            }
        }
        records.removeIf(r -> r.offset() >= end.get(r.partition()));
        return records;
    }

    public Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        return Admin.create(p);
    }

    public KafkaProducer<byte[], byte[]> producer() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(256 * 1024));
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "gzip");
        return new KafkaProducer<>(p);
    }

    /** Produces records {@code from} to {@code to - 1}, keyed by number so they spread over the partitions. */
    public void produce(String topic, int from, int to, IntFunction<byte[]> record) {
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            for (int i = from; i < to; i++) {
                producer.send(new ProducerRecord<>(topic, Integer.toString(i).getBytes(), record.apply(i)));
            }
            producer.flush();
        }
    }

    @Override
    public void close() {
        try {
            server.shutdown();
            server.awaitShutdown();
        } finally {
            deleteTree(dir);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // the broker logs every segment and election at INFO; the tests' own output matters more
    private static void quietLogs() {
        for (String name : List.of("kafka", "org.apache.kafka", "state.change.logger")) {
            if (LoggerFactory.getLogger(name) instanceof ch.qos.logback.classic.Logger logger) {
                logger.setLevel(Level.WARN);
            }
        }
    }
}
