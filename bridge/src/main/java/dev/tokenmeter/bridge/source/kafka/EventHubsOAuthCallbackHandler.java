package dev.tokenmeter.bridge.source.kafka;

import com.azure.core.credential.AccessToken;
import com.azure.core.credential.TokenCredential;
import com.azure.core.credential.TokenRequestContext;
import com.azure.identity.DefaultAzureCredentialBuilder;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerToken;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerTokenCallback;

import javax.security.auth.callback.Callback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Gives the Kafka client OAUTHBEARER tokens for Event Hubs from DefaultAzureCredential (managed identity in
 * Container Apps; AZURE_CLIENT_ID picks a user-assigned one). The token's audience is the namespace taken from the
 * bootstrap servers, which is what Event Hubs' Kafka endpoint expects.
 */
public final class EventHubsOAuthCallbackHandler implements AuthenticateCallbackHandler {

    private TokenCredential credential;
    private String scope;

    @Override
    public void configure(Map<String, ?> configs, String saslMechanism, List<AppConfigurationEntry> jaasConfigEntries) {
        Object servers = configs.get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
        String first = servers instanceof List<?> list ? String.valueOf(list.get(0)) : String.valueOf(servers).split(",")[0];
        scope = scopeFor(first);
        credential = new DefaultAzureCredentialBuilder().build();
    }

    /** {@code ns.servicebus.windows.net:9093} becomes {@code https://ns.servicebus.windows.net/.default}. */
    static String scopeFor(String bootstrapServer) {
        String host = URI.create("kafka://" + bootstrapServer.trim()).getHost();
        if (host == null) {
            throw new IllegalArgumentException("bootstrap server is not host:port: " + bootstrapServer);
        }
        return "https://" + host + "/.default";
    }

    @Override
    public void handle(Callback[] callbacks) throws UnsupportedCallbackException {
        for (Callback callback : callbacks) {
            if (!(callback instanceof OAuthBearerTokenCallback tokenCallback)) {
                throw new UnsupportedCallbackException(callback);
            }
            AccessToken token = credential.getTokenSync(new TokenRequestContext().addScopes(scope));
            long now = System.currentTimeMillis();
            long expires = token.getExpiresAt().toInstant().toEpochMilli();
            tokenCallback.token(new OAuthBearerToken() {
                @Override
                public String value() {
                    return token.getToken();
                }

                @Override
                public Set<String> scope() {
                    return Set.of(scope);
                }

                @Override
                public long lifetimeMs() {
                    return expires;
                }

                @Override
                public String principalName() {
                    return "tokenmeter-bridge";
                }

                @Override
                public Long startTimeMs() {
                    return now;
                }

                @Override
                public String toString() {
                    return "OAuthBearerToken[scope=" + scope + ", value=***]";
                }
            });
        }
    }

    @Override
    public void close() {
        credential = null;
    }
}
