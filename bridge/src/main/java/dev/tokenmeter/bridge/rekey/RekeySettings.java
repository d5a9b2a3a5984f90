package dev.tokenmeter.bridge.rekey;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Map;

/**
 * Limits and identity of the re-key stage.
 *
 * @param tickInterval     how often a tick goes to every partition of the target
 * @param maxInFlightSends sends (one per request id and message) awaiting acknowledgement before {@code submit} blocks
 * @param emitter          names this instance in its ticks; stable across restarts of the same replica
 */
public record RekeySettings(
        Duration tickInterval,
        int maxInFlightSends,
        Duration initialBackoff,
        Duration maxBackoff,
        String emitter) {

    public RekeySettings {
        if (tickInterval.isNegative() || tickInterval.isZero()) {
            throw new IllegalArgumentException("--rekey-tick-interval-ms (TOKENMETER_REKEY_TICK_INTERVAL_MS) must be positive");
        }
        if (maxInFlightSends < 1) {
            throw new IllegalArgumentException("--rekey-max-in-flight-sends (TOKENMETER_REKEY_MAX_IN_FLIGHT_SENDS) must be >= 1");
        }
        if (initialBackoff.isNegative() || initialBackoff.isZero() || maxBackoff.compareTo(initialBackoff) < 0) {
            throw new IllegalArgumentException("backoff must be positive and the longest backoff at least the first");
        }
        if (emitter == null || emitter.isBlank() || emitter.length() > 256) {
            throw new IllegalArgumentException("the tick emitter must be 1 to 256 characters");
        }
    }

    /**
     * This instance's name: the Container Apps replica, else the host name (a container's id, a pod's name), else
     * a fixed name. Several emitters are fine; the join only needs each tick's enqueued time.
     */
    public static String instanceId(Map<String, String> env) {
        for (String variable : new String[]{"CONTAINER_APP_REPLICA_NAME", "HOSTNAME"}) {
            String value = env.get(variable);
            if (value != null && !value.isBlank()) {
                return clip(value.trim());
            }
        }
        try {
            return clip(InetAddress.getLocalHost().getHostName());
        } catch (UnknownHostException e) {
            return "tokenmeter-rekey";
        }
    }

    private static String clip(String name) {
        return name.length() <= 256 ? name : name.substring(0, 256);
    }
}
