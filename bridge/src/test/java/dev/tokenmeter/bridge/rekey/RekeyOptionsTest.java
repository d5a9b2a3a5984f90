package dev.tokenmeter.bridge.rekey;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Which target the re-key flags name, and the errors that name the flag to fix. */
class RekeyOptionsTest {

    private static final String CONNECTION_STRING = "Endpoint=sb://usage-ns.servicebus.windows.net/;"
            + "SharedAccessKeyName=send;SharedAccessKey=bm90LWEtcmVhbC1rZXk=;EntityPath=usage";

    private final RekeyOptions options = new RekeyOptions();

    private RekeyTargetSettings target(String sourceNamespace) {
        return options.target(sourceNamespace, "127.0.0.1:9092", "none", null);
    }

    @Test
    void withoutATargetTheErrorNamesBothFlags() {
        assertThatThrownBy(() -> target(null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--rekey-eventhubs-name").hasMessageContaining("--rekey-kafka-topic");
    }

    @Test
    void twoTargetsAreRefused() {
        options.eventHubsName = "usage";
        options.kafkaTopic = "usage";
        assertThatThrownBy(() -> target("ns.servicebus.windows.net")).hasMessageContaining("not both");
    }

    @Test
    void theUsageHubDefaultsToTheSourcesNamespace() {
        options.eventHubsName = "usage";
        assertThat(target("Diag-NS.servicebus.windows.net")).isEqualTo(
                new RekeyTargetSettings.EventHubs("diag-ns.servicebus.windows.net", "usage", null));
    }

    @Test
    void aConnectionStringGivesNamespaceAndHubAndIsNeverShown() {
        options.eventHubsConnectionString = CONNECTION_STRING;
        RekeyTargetSettings settings = target("diag-ns.servicebus.windows.net");
        assertThat(settings).isInstanceOfSatisfying(RekeyTargetSettings.EventHubs.class, eh -> {
            assertThat(eh.namespace()).isEqualTo("usage-ns.servicebus.windows.net");
            assertThat(eh.hubName()).isEqualTo("usage");
        });
        assertThat(settings.toString()).doesNotContain("SharedAccessKey");
        assertThat(settings.describe()).doesNotContain("SharedAccessKey");
    }

    @Test
    void aUsageHubWithoutAnyNamespaceNamesTheNamespaceFlag() {
        options.eventHubsName = "usage";
        assertThatThrownBy(() -> target(null)).hasMessageContaining("--rekey-eventhubs-namespace");
        options.eventHubsNamespace = "usage-ns";
        assertThatThrownBy(() -> target(null)).hasMessageContaining("must be fully qualified");
    }

    @Test
    void theKafkaTargetUsesTheSourcesClusterButNeverEventHubsKafkaEndpoint() {
        options.kafkaTopic = "usage";
        assertThat(options.target(null, "broker:9092", "none", "SSL"))
                .isEqualTo(new RekeyTargetSettings.Kafka("broker:9092", "SSL", "usage"));
        assertThatThrownBy(() -> options.target(null, "ns.servicebus.windows.net:9093", "eventhubs-oauth", null))
                .hasMessageContaining("Event Hubs' Kafka endpoint").hasMessageContaining("--rekey-eventhubs-name");
        assertThatThrownBy(() -> options.target(null, "ns.servicebus.windows.net:9093", "none", null))
                .hasMessageContaining("Event Hubs' Kafka endpoint");
        assertThatThrownBy(() -> options.target(null, null, "none", null))
                .hasMessageContaining("--kafka-bootstrap-servers");
    }

    @Test
    void theKafkaProducerWaitsForAllReplicasAndIsIdempotent() {
        var config = KafkaRekeyTarget.producerConfig(new RekeyTargetSettings.Kafka("broker:9092", null, "usage"));
        assertThat(config).containsEntry("acks", "all").containsEntry("enable.idempotence", "true")
                .doesNotContainKey("security.protocol");
    }

    @Test
    void settingsNameTheFlagThatIsOutOfRange() {
        options.tickIntervalMs = 0;
        options.maxInFlightSends = 8;
        assertThatThrownBy(() -> options.settings(Duration.ofMillis(200), Duration.ofSeconds(30), Map.of()))
                .hasMessageContaining("--rekey-tick-interval-ms");
        options.tickIntervalMs = 15000;
        options.maxInFlightSends = 0;
        assertThatThrownBy(() -> options.settings(Duration.ofMillis(200), Duration.ofSeconds(30), Map.of()))
                .hasMessageContaining("--rekey-max-in-flight-sends");
    }

    @Test
    void theEmitterIsTheReplicaElseTheHost() {
        assertThat(RekeySettings.instanceId(Map.of("CONTAINER_APP_REPLICA_NAME", "rekey--abc12-7f9c", "HOSTNAME", "h")))
                .isEqualTo("rekey--abc12-7f9c");
        assertThat(RekeySettings.instanceId(Map.of("HOSTNAME", "pod-4"))).isEqualTo("pod-4");
        assertThat(RekeySettings.instanceId(Map.of())).isNotBlank();
    }
}
