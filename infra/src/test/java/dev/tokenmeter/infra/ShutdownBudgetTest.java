package dev.tokenmeter.infra;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * On SIGTERM the bridge and the re-key stage may spend their shutdown budget twice (the source's drain and final
 * commit, then the pipeline's flush) and exit a few seconds after: the platform must not kill them before that.
 */
class ShutdownBudgetTest {

    @Test
    void theTerminationGracePeriodCoversTwiceTheShutdownBudgetPlusAMargin() {
        JsonNode template = TemplateFiles.module("containerapp");
        for (JsonNode app : new JsonNode[]{ProjectChecksTest.containerApp(), ProjectChecksTest.rekeyApp()}) {
            for (long budgetMs : new long[]{20_000, 5_000, 120_000}) {
                ArmExpressions e = new ArmExpressions(template, Map.of("shutdownTimeoutMs", budgetMs));
                long grace = e.value(app.at("/properties/template/terminationGracePeriodSeconds")).asLong();
                assertThat(grace * 1000).as("grace period for a %d ms budget", budgetMs)
                        .isGreaterThanOrEqualTo(2 * budgetMs + 5_000);
                String env = app.at("/properties/template/containers/0/env").toString();
                assertThat(env).contains("TOKENMETER_SHUTDOWN_TIMEOUT_MS");
            }
        }
    }
}
