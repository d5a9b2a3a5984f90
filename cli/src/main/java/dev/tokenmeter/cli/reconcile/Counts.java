package dev.tokenmeter.cli.reconcile;

import java.util.Map;

/**
 * The three independent counts of prompt plus completion tokens per slot: what Azure OpenAI processed (its platform
 * metrics), what the gateway saw (the token metrics the policies emit to Application Insights) and what was billed
 * (OpenMeter). {@code billedSplit}: whether the billed counts say which were exact (the request mapping does).
 */
public record Counts(Map<Slot, Long> azure, Map<Slot, Long> gateway, Map<Slot, Billed> billed, boolean billedSplit) {
}
