package dev.tokenmeter.policies.harness;

/**
 * The harness cannot run what it was given: a policy it does not model, a send-request it may not make, a Mono
 * process that died or stopped answering. Not a policy error (those go to on-error like in APIM).
 */
public class HarnessException extends RuntimeException {
    public HarnessException(String message) {
        super(message);
    }

    public HarnessException(String message, Throwable cause) {
        super(message, cause);
    }
}
