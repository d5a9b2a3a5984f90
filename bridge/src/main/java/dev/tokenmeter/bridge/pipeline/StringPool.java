package dev.tokenmeter.bridge.pipeline;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

/**
 * Shared instances of the strings records repeat (service, gateway, API, product, user ids...), so a record held
 * by the join costs little beyond its request id. Bounded: once full, strings are kept as they are.
 */
final class StringPool implements UnaryOperator<String> {

    private final Map<String, String> pool = new ConcurrentHashMap<>();
    private final int capacity;

    StringPool(int capacity) {
        this.capacity = capacity;
    }

    @Override
    public String apply(String s) {
        if (s == null) {
            return null;
        }
        String shared = pool.get(s);
        if (shared != null) {
            return shared;
        }
        if (pool.size() >= capacity) {
            return s;
        }
        String raced = pool.putIfAbsent(s, s);
        return raced != null ? raced : s;
    }
}
