package dev.tokenmeter.cli;

import com.azure.core.credential.AccessToken;
import com.azure.core.credential.TokenCredential;
import reactor.core.publisher.Mono;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Clock;
import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.Map;

/** Runs the CLI in this JVM as main would, with a static Azure token and captured output. */
public final class CliRunner {

    public record Result(int exitCode, String out, String err) {
    }

    private final Map<String, String> variables = new HashMap<>();
    private Terminal terminal = Terminal.NONE;

    /**
     * Like main, the commands see this process's PATH (validate finds Mono's compiler through it) and the build's
     * cache directory for compiled expressions; every other variable comes from the test.
     */
    public CliRunner() {
        for (String name : new String[] {"PATH", "TOKENMETER_CACHE_DIR"}) {
            if (System.getenv(name) != null) {
                variables.put(name, System.getenv(name));
            }
        }
    }
    private TokenCredential credential = request -> Mono.just(new AccessToken("test-token", OffsetDateTime.now().plusHours(1)));
    private Clock clock = Clock.systemUTC();

    /** Signs in with this credential instead of the static test token. */
    public CliRunner credential(TokenCredential credential) {
        this.credential = credential;
        return this;
    }

    /** Runs as if at this terminal (by default there is none, as in CI). */
    public CliRunner terminal(Terminal terminal) {
        this.terminal = terminal;
        return this;
    }

    /** Runs at this time (for what depends on "now", such as reconcile's settle window). */
    public CliRunner clock(Clock clock) {
        this.clock = clock;
        return this;
    }

    public CliRunner env(String name, String value) {
        variables.put(name, value);
        return this;
    }

    public Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        Environment env = new Environment(Map.copyOf(variables), new PrintWriter(out, true), new PrintWriter(err, true),
                () -> this.credential, clock, terminal);
        int code = Main.run(env, args);
        return new Result(code, out.toString(), err.toString());
    }
}
