package dev.tokenmeter.cli;

import com.azure.identity.DefaultAzureCredentialBuilder;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.lang.reflect.Constructor;
import java.nio.charset.StandardCharsets;
import java.time.Clock;

/** Wires the commands to the real world: environment, console, DefaultAzureCredential, system clock. */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) {
        // our own logging setup, not the bridge's (which is also on the classpath): libraries stay quiet
        System.setProperty("logback.configurationFile", "tokenmeter-cli-logback.xml");
        PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
        PrintWriter err = new PrintWriter(System.err, true, StandardCharsets.UTF_8);
        // DefaultAzureCredential is built only when a command talks to Azure: offline commands stay fast
        Environment env = new Environment(System.getenv(), out, err,
                () -> new DefaultAzureCredentialBuilder().build(), Clock.systemUTC(), Terminal.system());
        System.exit(run(env, args));
    }

    public static int run(Environment env, String... args) {
        return commandLine(env).execute(args);
    }

    public static CommandLine commandLine(Environment env) {
        CommandLine cli = new CommandLine(new TokenmeterCommand(), new EnvironmentFactory(env));
        cli.setOut(env.out());
        cli.setErr(env.err());
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        // one line that says what is wrong and where to look, not the whole usage (54 lines for policy deploy)
        cli.setParameterExceptionHandler((e, args) -> {
            CommandLine c = e.getCommandLine();
            c.getErr().println("error: " + e.getMessage());
            c.getErr().println("Run '" + c.getCommandSpec().qualifiedName() + " --help' for the options.");
            c.getErr().flush();
            return ExitCode.USAGE;
        });
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (e instanceof picocli.CommandLine.ParameterException pe) {
                return commandLine.getParameterExceptionHandler().handleParseException(pe, new String[0]);
            }
            if (e instanceof CliFailure) {
                commandLine.getErr().println("error: " + e.getMessage());
            } else {
                commandLine.getErr().println("error: unexpected " + e.getClass().getSimpleName() + ": " + e.getMessage()
                        + " (please report this with the command you ran)");
            }
            commandLine.getErr().flush();
            return ExitCode.FAILURE;
        });
        return cli;
    }

    /** Commands that need the environment take it in their constructor; the rest are built by picocli. */
    private record EnvironmentFactory(Environment env) implements CommandLine.IFactory {
        @Override
        public <K> K create(Class<K> type) throws Exception {
            for (Constructor<?> c : type.getDeclaredConstructors()) {
                if (c.getParameterCount() == 1 && c.getParameterTypes()[0] == Environment.class) {
                    c.setAccessible(true);
                    return type.cast(c.newInstance(env));
                }
            }
            return CommandLine.defaultFactory().create(type);
        }
    }
}
