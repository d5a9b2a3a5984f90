package dev.tokenmeter.policies.harness;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * APIM's value cache (cache-store-value / cache-lookup-value) for one test: entries expire after their duration on
 * a clock the test moves with {@link #advance}, so expiry is tested without waiting. Internal and external caching
 * types behave the same here. Values are the JSON form of what the expression returned (the harness stores strings
 * and integers; the policies cache strings).
 */
public final class ApimCache {

    private record Entry(JsonNode value, Instant expires) {
    }

    private final Map<String, Entry> entries = new HashMap<>();
    private Instant now = Instant.parse(ScenarioContext.TIMESTAMP);
    private int stores;

    public void advance(Duration by) {
        now = now.plus(by);
    }

    public void store(String key, JsonNode value, Duration duration) {
        if (duration.isNegative() || duration.isZero()) {
            throw new HarnessException("cache-store-value duration must be positive, was " + duration);
        }
        stores++;
        entries.put(key, new Entry(value, now.plus(duration)));
    }

    public Optional<JsonNode> lookup(String key) {
        Entry e = entries.get(key);
        if (e == null || !now.isBefore(e.expires())) {
            entries.remove(key);
            return Optional.empty();
        }
        return Optional.of(e.value());
    }

    /** How many values were stored: proves what was (not) cached. */
    public int stores() {
        return stores;
    }
}
