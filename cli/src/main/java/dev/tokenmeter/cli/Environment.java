package dev.tokenmeter.cli;

import com.azure.core.credential.TokenCredential;

import java.io.PrintWriter;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * What the commands take from outside: environment variables, the output streams, the Azure credential, the
 * clock and the terminal. Main wires the real ones; tests wire a static token, captured streams and a terminal of
 * their choosing.
 */
public record Environment(Map<String, String> variables, PrintWriter out, PrintWriter err,
                          Supplier<TokenCredential> credential, Clock clock, Terminal terminal) {

    /** Without a terminal, as in scripts and CI. */
    public Environment(Map<String, String> variables, PrintWriter out, PrintWriter err,
                       Supplier<TokenCredential> credential, Clock clock) {
        this(variables, out, err, credential, clock, Terminal.NONE);
    }

    public Optional<String> variable(String name) {
        return Optional.ofNullable(variables.get(name)).filter(v -> !v.isBlank());
    }
}
