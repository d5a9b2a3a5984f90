package dev.tokenmeter.cli;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLException;

/** Why a request never got an answer, in words: the root cause's message alone is often null or a class name. */
public final class Failures {

    private Failures() {
    }

    public static String reason(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof UnknownHostException) {
                return "unknown host" + (t.getMessage() == null ? "" : " (" + t.getMessage() + ")");
            }
            if (t instanceof ConnectException || t instanceof NoRouteToHostException) {
                return "connection refused" + (t.getMessage() == null ? "" : " (" + t.getMessage() + ")");
            }
            if (t instanceof HttpConnectTimeoutException || t instanceof HttpTimeoutException
                    || t instanceof TimeoutException) {
                return "timed out";
            }
            if (t instanceof SSLException) {
                return "TLS failed: " + t.getMessage();
            }
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    }

    /** True when the failure is DefaultAzureCredential (or another credential) not getting a token. */
    public static boolean signIn(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String name = t.getClass().getName();
            if (name.equals("com.azure.identity.CredentialUnavailableException")
                    || name.equals("com.azure.core.exception.ClientAuthenticationException")) {
                return true;
            }
        }
        return false;
    }
}
