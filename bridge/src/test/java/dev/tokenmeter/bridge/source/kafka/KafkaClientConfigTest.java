package dev.tokenmeter.bridge.source.kafka;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Client properties for Event Hubs' Kafka endpoint and the settings checks. */
class KafkaClientConfigTest {

    private static final String CS = "Endpoint=sb://tokenmeter.servicebus.windows.net/;SharedAccessKeyName=listen;"
            + "SharedAccessKey=c2VjcmV0LWtleQ==;EntityPath=usage";

    private static KafkaSettings settings(String bootstrap, String topic, KafkaAuth auth, String cs) {
        return new KafkaSettings(bootstrap, topic, "tokenmeter-bridge", auth, cs, null, null, 500,
                Duration.ofSeconds(1), Duration.ofSeconds(30), Duration.ofSeconds(20));
    }

    @Test
    void aConnectionStringGivesTheEndpointTopicAndSaslPlain() {
        KafkaSettings s = settings(null, null, KafkaAuth.EVENTHUBS_CONNECTION_STRING, CS);
        assertThat(s.bootstrapServers()).isEqualTo("tokenmeter.servicebus.windows.net:9093");
        assertThat(s.topic()).isEqualTo("usage");
        Properties p = KafkaClientConfig.consumer(s);
        assertThat(p).containsEntry("security.protocol", "SASL_SSL").containsEntry("sasl.mechanism", "PLAIN")
                .containsEntry("enable.auto.commit", "false").containsEntry("auto.offset.reset", "earliest");
        assertThat((String) p.get("sasl.jaas.config")).contains("username=\"$ConnectionString\"")
                .contains("password=\"" + CS + "\"");
        assertThat(s.toString()).doesNotContain("c2VjcmV0");
        assertThat(s.describe()).doesNotContain("c2VjcmV0");
    }

    @Test
    void oauthUsesTheAzureIdentityCallbackForTheNamespace() {
        KafkaSettings s = settings("tokenmeter.servicebus.windows.net:9093", "usage", KafkaAuth.EVENTHUBS_OAUTH, null);
        Properties p = KafkaClientConfig.consumer(s);
        assertThat(p).containsEntry("security.protocol", "SASL_SSL").containsEntry("sasl.mechanism", "OAUTHBEARER")
                .containsEntry("sasl.login.callback.handler.class", EventHubsOAuthCallbackHandler.class.getName());
        assertThat(EventHubsOAuthCallbackHandler.scopeFor("tokenmeter.servicebus.windows.net:9093"))
                .isEqualTo("https://tokenmeter.servicebus.windows.net/.default");
    }

    @Test
    void missingSettingsAreNamed() {
        assertThatThrownBy(() -> settings(null, "usage", KafkaAuth.NONE, null))
                .hasMessageContaining("TOKENMETER_KAFKA_BOOTSTRAP_SERVERS");
        assertThatThrownBy(() -> settings("localhost:9092", null, KafkaAuth.NONE, null))
                .hasMessageContaining("TOKENMETER_KAFKA_TOPIC");
        assertThatThrownBy(() -> settings("localhost:9092", "t", KafkaAuth.EVENTHUBS_CONNECTION_STRING, null))
                .hasMessageContaining("TOKENMETER_KAFKA_EVENTHUBS_CONNECTION_STRING");
        assertThatThrownBy(() -> KafkaAuth.parse("sasl")).hasMessageContaining("eventhubs-oauth");
    }
}
