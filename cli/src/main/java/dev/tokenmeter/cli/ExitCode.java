package dev.tokenmeter.cli;

/** The exit codes every command uses; scripts and CI branch on them. */
public final class ExitCode {
    public static final int OK = 0;
    public static final int FAILURE = 1;
    public static final int USAGE = 2;
    public static final int DRIFT = 3;
    /** reconcile: an hour's bill is further from Azure OpenAI's own count than the tolerance. */
    public static final int BILLING_GAP = 4;

    private ExitCode() {
    }
}
