package dev.tokenmeter.testkit;

import org.junit.jupiter.api.Assumptions;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Azurite's Blob service (the npm package the project installs into {@code .tools/}) as a child process on a free
 * loopback port, in memory, without telemetry. Where it is not installed the test is skipped with how to install
 * it, except under CI=true, where a missing Azurite fails the build.
 */
public final class Azurite implements AutoCloseable {

    /** Azurite's fixed development account; its key is public and documented for the emulator. */
    public static final String ACCOUNT = "devstoreaccount1";
    private static final String KEY =
            "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private static final Pattern LISTENING = Pattern.compile("listens on (http://[0-9.]+:(\\d+))");

    private final Process process;
    private final int port;

    private Azurite(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    public static Azurite start() throws IOException, InterruptedException {
        Path root = ProjectFiles.root();
        Path executable = root.resolve(".tools/node_modules/.bin/azurite-blob");
        if (!Files.isExecutable(executable)) {
            String howTo = "Azurite is not installed at " + executable + "; install it with: cd " + root
                    + " && npm install --no-audit --no-fund --prefix .tools azurite@3.37.0";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                throw new IllegalStateException(howTo);
            }
            // on the console too: a class-level skip shows in the reports as 0 tests, saying nothing
            System.err.println("SKIPPED: " + howTo);
            Assumptions.abort(howTo);
        }
        Process process = new ProcessBuilder(executable.toString(), "--blobHost", "127.0.0.1", "--blobPort", "0",
                "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry", "--silent")
                .redirectErrorStream(true).start();
        BlockingQueue<Integer> ports = new ArrayBlockingQueue<>(1);
        StringBuilder output = new StringBuilder();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    synchronized (output) {
                        output.append(line).append('\n');
                    }
                    Matcher m = LISTENING.matcher(line);
                    if (m.find()) {
                        ports.offer(Integer.parseInt(m.group(2)));
                    }
                }
            } catch (IOException ignored) {
                // the process ended; start() reports what it printed
            }
        }, "azurite-output");
        reader.setDaemon(true);
        reader.start();
        Integer port = ports.poll(60, TimeUnit.SECONDS);
        if (port == null) {
            process.destroyForcibly();
            synchronized (output) {
                throw new IllegalStateException("Azurite did not start within 60 s:\n" + output);
            }
        }
        return new Azurite(process, port);
    }

    public int port() {
        return port;
    }

    public String blobEndpoint() {
        return "http://127.0.0.1:" + port + "/" + ACCOUNT;
    }

    public String connectionString() {
        return "DefaultEndpointsProtocol=http;AccountName=" + ACCOUNT + ";AccountKey=" + KEY + ";BlobEndpoint="
                + blobEndpoint() + ";";
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
