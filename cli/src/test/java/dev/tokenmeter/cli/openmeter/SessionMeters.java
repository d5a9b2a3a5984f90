package dev.tokenmeter.cli.openmeter;

import dev.tokenmeter.testkit.OpenMeterContractServer;
import dev.tokenmeter.testkit.OpenMeterContractServer.Reply;

import java.util.Map;

/** Meters kept in memory and a few days of alice's usage, for the documented session. */
public final class SessionMeters {

    public SessionMeters(OpenMeterContractServer server) {
        new FakeMeters(server);
        Map<String, long[]> perField = Map.of(
                "prompt_tokens", new long[]{182_340, 9_120, 201_775, 11_300},
                "completion_tokens", new long[]{41_210, 2_480, 47_902, 3_120},
                "cached_tokens", new long[]{64_000, 0, 71_680, 0},
                "reasoning_tokens", new long[]{0, 1_536, 0, 1_920},
                "total_tokens", new long[]{223_550, 11_600, 249_677, 14_420});
        perField.forEach((field, v) -> server.route("GET", "/api/v1/meters/tokenmeter_" + field + "/query", r ->
                Reply.json(200, "{\"windowSize\":\"DAY\",\"data\":["
                        + row(v[0], "2026-11-01", "2026-11-02", "gpt-4o") + "," + row(v[1], "2026-11-01", "2026-11-02", "o3-mini") + ","
                        + row(v[2], "2026-11-02", "2026-11-03", "gpt-4o") + "," + row(v[3], "2026-11-02", "2026-11-03", "o3-mini")
                        + "]}")));
    }

    private static String row(long value, String from, String to, String model) {
        return "{\"value\":" + value + ",\"windowStart\":\"" + from + "T00:00:00Z\",\"windowEnd\":\"" + to
                + "T00:00:00Z\",\"subject\":\"alice@contoso.com\",\"groupBy\":{\"model\":\"" + model + "\"}}";
    }
}
