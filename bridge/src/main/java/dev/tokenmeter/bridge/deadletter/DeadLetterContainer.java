package dev.tokenmeter.bridge.deadletter;

import com.azure.identity.DefaultAzureCredentialBuilder;
import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.BlobContainerClientBuilder;
import com.azure.storage.common.policy.RequestRetryOptions;
import com.azure.storage.common.policy.RetryPolicyType;
import dev.tokenmeter.bridge.Redaction;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;

/**
 * Connects to the Blob container dead letters live in, named by its URL
 * ({@code https://<account>.blob.core.windows.net/<container>}, or Azurite's
 * {@code http://127.0.0.1:10000/devstoreaccount1/<container>}). Signs in with the connection string's account key
 * when one is given (Azurite, or an account without managed identity), with a SAS when the URL carries one, and
 * with DefaultAzureCredential (the managed identity in Azure) otherwise.
 */
public final class DeadLetterContainer {

    /**
     * Few, short tries inside the SDK: a store that stays down is retried by the caller for as long as it takes,
     * and an operator sees each failure in the log instead of a minutes-long silent SDK backoff.
     */
    private static final RequestRetryOptions RETRY = new RequestRetryOptions(RetryPolicyType.EXPONENTIAL, 2,
            Duration.ofSeconds(30), Duration.ofMillis(200), Duration.ofSeconds(2), null);

    private DeadLetterContainer() {
    }

    /**
     * @param option how the user spelled the setting, for the error message
     * @throws IllegalArgumentException when the URL is not an http(s) URL naming a container
     */
    public static BlobContainerClient connect(String containerUrl, String connectionString, String option) {
        return connect(containerUrl, connectionString, option, () -> new DefaultAzureCredentialBuilder().build());
    }

    /** As {@link #connect(String, String, String)}, signing in with {@code credential} instead of the default one. */
    public static BlobContainerClient connect(String containerUrl, String connectionString, String option,
                                              java.util.function.Supplier<com.azure.core.credential.TokenCredential> credential) {
        String url = checkedUrl(containerUrl, option);
        BlobContainerClientBuilder builder = new BlobContainerClientBuilder().retryOptions(RETRY);
        if (connectionString != null && !connectionString.isBlank()) {
            // the connection string supplies the key; the URL (set last, so it wins) the endpoint and container
            builder.connectionString(connectionString.trim());
            builder.endpoint(url);
        } else if (URI.create(url).getRawQuery() != null && URI.create(url).getRawQuery().contains("sig=")) {
            builder.endpoint(url);
        } else {
            builder.endpoint(url).credential(credential.get());
        }
        return builder.buildClient();
    }

    /** True when {@code location} names a Blob container rather than a directory. */
    public static boolean isUrl(String location) {
        return location != null && (location.startsWith("https://") || location.startsWith("http://"));
    }

    private static String checkedUrl(String containerUrl, String option) {
        String url = containerUrl == null ? "" : containerUrl.trim();
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(option + " '" + Redaction.url(url) + "' is not a URL: " + e.getReason());
        }
        String path = uri.getPath() == null ? "" : uri.getPath().replaceAll("^/+|/+$", "");
        boolean ipStyle = uri.getHost() != null && (uri.getHost().matches("[0-9.]+") || "localhost".equals(uri.getHost()));
        // Azurite and other emulators put the account in the path: http://127.0.0.1:10000/devstoreaccount1/<container>
        int segments = path.isEmpty() ? 0 : path.split("/").length;
        if (!("https".equalsIgnoreCase(uri.getScheme()) || "http".equalsIgnoreCase(uri.getScheme()))
                || uri.getHost() == null || segments != (ipStyle ? 2 : 1)) {
            throw new IllegalArgumentException(option + " '" + Redaction.url(url) + "' must be a Blob container URL, "
                    + "https://<account>.blob.core.windows.net/<container>");
        }
        return url;
    }
}
