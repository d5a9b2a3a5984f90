package dev.tokenmeter.bridge.pipeline;

import dev.tokenmeter.usage.UsageRecord;

/** Told when every event of a record was acknowledged by the sink (feeds the end-of-run usage table). */
@FunctionalInterface
public interface DeliveryListener {

    void delivered(UsageRecord record);

    DeliveryListener NONE = record -> { };
}
