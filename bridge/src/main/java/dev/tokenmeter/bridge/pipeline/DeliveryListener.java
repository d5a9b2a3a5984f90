package dev.tokenmeter.bridge.pipeline;

import dev.tokenmeter.bridge.mapping.Billable;

/** Told when every event billed for a request was acknowledged by the sink (feeds the end-of-run usage table). */
@FunctionalInterface
public interface DeliveryListener {

    void delivered(Billable billed);

    DeliveryListener NONE = billed -> { };
}
