package dev.tokenmeter.bridge.mapping;

import dev.tokenmeter.usage.UsageRecord;

import java.util.List;

/** Turns one usage record into the CloudEvents OpenMeter meters. Deterministic: same record, same bytes. */
public interface EventMapper {

    List<OutgoingEvent> map(UsageRecord record);
}
