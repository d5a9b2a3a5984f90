package dev.tokenmeter.bridge;

/** The bridge's exit codes, as picocli's conventions have them. */
final class ExitCodes {
    /** Everything was delivered (or, streaming, the bridge stopped cleanly). */
    static final int OK = 0;
    /** Something could not be done: records left undelivered, a source that failed. */
    static final int FAILURE = 1;
    /** A flag or variable is wrong; nothing was read. */
    static final int USAGE = 2;

    private ExitCodes() {
    }
}
