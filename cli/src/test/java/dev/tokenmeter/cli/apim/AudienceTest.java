package dev.tokenmeter.cli.apim;

import org.junit.jupiter.api.Test;

import java.net.URI;

import static org.assertj.core.api.Assertions.assertThat;

/** Issue 13, item 6: the ARM token audience of the sovereign clouds is their own endpoint. */
class AudienceTest {
    @Test
    void eachCloudAsksForItsOwnAudience() {
        assertThat(ArmOptions.audienceOf(URI.create("https://management.azure.com"))).isEqualTo("https://management.azure.com/.default");
        assertThat(ArmOptions.audienceOf(URI.create("https://management.chinacloudapi.cn/"))).isEqualTo("https://management.chinacloudapi.cn/.default");
        assertThat(ArmOptions.audienceOf(URI.create("https://management.usgovcloudapi.net"))).isEqualTo("https://management.usgovcloudapi.net/.default");
    }
}
