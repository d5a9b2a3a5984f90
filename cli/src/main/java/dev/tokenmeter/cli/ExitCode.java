package dev.tokenmeter.cli;

/** The exit codes every command uses; scripts and CI branch on them. */
public final class ExitCode {
    public static final int OK = 0;
    public static final int FAILURE = 1;
    public static final int USAGE = 2;
    public static final int DRIFT = 3;

    private ExitCode() {
    }
}
