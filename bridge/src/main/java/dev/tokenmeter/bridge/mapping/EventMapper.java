package dev.tokenmeter.bridge.mapping;

import dev.tokenmeter.usage.UsageRecord;

import java.util.List;

/** Turns what is billed for one request into the CloudEvents OpenMeter meters. Deterministic: same input, same bytes. */
public interface EventMapper {

    List<OutgoingEvent> map(Billable billable);

    /** The record billed as the policies wrote it. */
    default List<OutgoingEvent> map(UsageRecord record) {
        return map(Billable.asRecorded(record));
    }
}
