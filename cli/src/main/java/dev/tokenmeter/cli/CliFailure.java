package dev.tokenmeter.cli;

/**
 * A failure the user can act on: the message says what failed, on which resource, and what to do. Main prints it
 * without a stack trace and exits 1.
 */
public class CliFailure extends RuntimeException {
    public CliFailure(String message) {
        super(message);
    }

    public CliFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
