package dev.tokenmeter.policies.scenarios;

import dev.tokenmeter.policies.harness.HarnessException;
import dev.tokenmeter.policies.harness.SendRequestTransport;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The answer a scenario gives to a policy's send-request: matched by method (null: any) and by the URL (exact, as
 * .NET's Uri writes it, or a regular expression that must match all of it).
 */
public record StubbedCall(String method, String url, Pattern urlMatches, SendRequestTransport.Answer answer) {

    boolean matches(String requestMethod, URI requestUrl) {
        if (method != null && !method.equalsIgnoreCase(requestMethod)) {
            return false;
        }
        return url != null ? url.equals(requestUrl.toString()) : urlMatches.matcher(requestUrl.toString()).matches();
    }

    /** The first matching answer; a send-request no answer matches is a harness error naming it. */
    static SendRequestTransport transport(List<StubbedCall> calls) {
        return (String method, URI url, Map<String, List<String>> headers, String body, Duration timeout) -> {
            for (StubbedCall call : calls) {
                if (call.matches(method, url)) {
                    // a timeout takes the policy's whole timeout, which context.Elapsed shows
                    if (call.answer() instanceof SendRequestTransport.Answer.Failure f && f.reason().equals("Timeout")) {
                        return new SendRequestTransport.Answer.Failure(f.reason(), f.detail(), timeout);
                    }
                    return call.answer();
                }
            }
            throw new HarnessException("send-request " + method + " " + url + " has no answer in the scenario (add one under send-requests)");
        };
    }
}
