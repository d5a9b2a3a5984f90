package dev.tokenmeter.bridge.join;

/** The rows the re-key stage adds to the usage hub beside the usage records. */
public sealed interface JoinRow permits LlmUsage, Tick {
}
