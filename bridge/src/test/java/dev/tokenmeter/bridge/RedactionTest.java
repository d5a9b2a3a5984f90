package dev.tokenmeter.bridge;

import dev.tokenmeter.bridge.source.eventhubs.EventHubsSettings;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class RedactionTest {

    @Test
    void passwordsAndQueryValuesNeverReachALog() {
        assertThat(Redaction.url("https://alice:hunter2@openmeter.example/api?token=abc&x=1"))
                .isEqualTo("https://***@openmeter.example/api?token=***&x=***");
        assertThat(Redaction.url("https://openmeter.cloud")).isEqualTo("https://openmeter.cloud");
        assertThat(Redaction.url("not a url ?sig=s3cr3t")).doesNotContain("s3cr3t");
    }

    @Test
    void aSasSignatureOnTheCheckpointContainerUrlIsNotInTheSourcesDescription() {
        String sas = "https://tmcheckpoints.blob.core.windows.net/checkpoints?sv=2022-11-02&sr=c&sig=PLANTEDsig%2Bx%3D";
        EventHubsSettings settings = new EventHubsSettings("ns.servicebus.windows.net", "usage", "$Default", null,
                "earliest", 100, Duration.ofSeconds(1), Duration.ofSeconds(5), sas, null, null, Duration.ofSeconds(20));
        assertThat(settings.describe()).doesNotContain("PLANTEDsig").contains("tmcheckpoints.blob.core.windows.net");
        assertThat(settings.toString()).doesNotContain("PLANTEDsig");
    }
}
