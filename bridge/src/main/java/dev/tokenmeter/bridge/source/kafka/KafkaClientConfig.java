package dev.tokenmeter.bridge.source.kafka;

import dev.tokenmeter.bridge.source.eventhubs.EventHubsConnectionString;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.util.Properties;

/** The consumer's client properties, from the source settings. */
public final class KafkaClientConfig {

    private KafkaClientConfig() {
    }

    public static Properties consumer(KafkaSettings s) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, s.bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, s.groupId());
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        // offsets are committed by the source, only up to what the core reports as settled
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, s.startOffset());
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, Integer.toString(s.maxPollRecords()));
        // only partitions that actually move are revoked, so a scale-out does not stall every partition
        p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "tokenmeter-bridge");
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, Long.toString(s.sessionTimeout().toMillis()));
        p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, Long.toString(Math.max(500, s.sessionTimeout().toMillis() / 3)));
        switch (s.auth()) {
            case NONE -> {
                if (s.securityProtocol() != null) {
                    p.put("security.protocol", s.securityProtocol());
                }
            }
            case EVENTHUBS_CONNECTION_STRING -> {
                EventHubsConnectionString cs = EventHubsConnectionString.parse(s.eventHubsConnectionString());
                eventHubsCommon(p, s);
                p.put(SaslConfigs.SASL_MECHANISM, "PLAIN");
                p.put(SaslConfigs.SASL_JAAS_CONFIG, "org.apache.kafka.common.security.plain.PlainLoginModule required "
                        + "username=\"$ConnectionString\" password=\"" + jaasEscape(cs.raw()) + "\";");
            }
            case EVENTHUBS_OAUTH -> {
                eventHubsCommon(p, s);
                p.put(SaslConfigs.SASL_MECHANISM, "OAUTHBEARER");
                p.put(SaslConfigs.SASL_JAAS_CONFIG,
                        "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;");
                p.put(SaslConfigs.SASL_LOGIN_CALLBACK_HANDLER_CLASS, EventHubsOAuthCallbackHandler.class.getName());
            }
        }
        return p;
    }

    private static void eventHubsCommon(Properties p, KafkaSettings s) {
        p.put("security.protocol", s.securityProtocol() != null ? s.securityProtocol() : "SASL_SSL");
        // Event Hubs closes idle connections after 240 s; Microsoft's recommended client settings stay below that
        p.put(ConsumerConfig.CONNECTIONS_MAX_IDLE_MS_CONFIG, "180000");
        p.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "180000");
        p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "60000");
    }

    private static String jaasEscape(String value) {
        return value.replace("\\", "\\\\").replace("\"", "\\\"");
    }
}
