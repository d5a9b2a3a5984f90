package dev.tokenmeter.policies.harness;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One running {@code mono policy.exe}: send a JSON command, get a JSON answer. Every answer is awaited with a
 * timeout, and {@link #close()} always reaps the process (politely, then forcibly).
 */
public final class ExpressionHost implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long ANSWER_TIMEOUT_SECONDS = 30;

    private final Process process;
    private final BufferedWriter in;
    private final BufferedReader out;
    private final Path stderr;
    private final ExecutorService reader = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "expression-host-reader");
        t.setDaemon(true);
        return t;
    });

    public ExpressionHost(MonoToolchain toolchain, Path exe) {
        try {
            stderr = Files.createTempFile(exe.getParent(), "host", ".stderr");
            process = new ProcessBuilder(toolchain.mono().toString(), exe.toString())
                    .directory(exe.getParent().toFile())
                    .redirectError(stderr.toFile())
                    .start();
        } catch (IOException e) {
            throw new HarnessException("cannot start mono: " + e.getMessage(), e);
        }
        in = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
        out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    public ObjectNode command(String op) {
        return JSON.createObjectNode().put("op", op);
    }

    /** Sends a command and returns the answer; {@code ok:false} answers are returned, not thrown. */
    public JsonNode call(ObjectNode command) {
        try {
            in.write(JSON.writeValueAsString(command));
            in.newLine();
            in.flush();
            Future<String> line = reader.submit(out::readLine);
            String answer = line.get(ANSWER_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            if (answer == null) {
                throw new HarnessException("mono exited: " + Files.readString(stderr));
            }
            return JSON.readTree(answer);
        } catch (TimeoutException e) {
            close();
            throw new HarnessException("expression host gave no answer within " + ANSWER_TIMEOUT_SECONDS + " s to " + command);
        } catch (IOException | java.util.concurrent.ExecutionException e) {
            throw new HarnessException("expression host failed on " + command + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HarnessException("interrupted", e);
        }
    }

    /** Like {@link #call} but an {@code ok:false} answer is a {@link HarnessException}. */
    public JsonNode require(ObjectNode command) {
        JsonNode answer = call(command);
        if (!answer.path("ok").asBoolean()) {
            throw new HarnessException("expression host refused " + command + ": " + answer.path("error").asText());
        }
        return answer;
    }

    /** A use of a .NET type or member APIM does not allow, in expression {@code expressionId}. */
    public record DisallowedMember(int expressionId, String member) {
    }

    /** Every use of a type or member outside APIM's allowed list, read from the compiled IL of each expression. */
    public List<DisallowedMember> disallowedMembers() {
        List<DisallowedMember> out = new ArrayList<>();
        require(command("check")).path("value").forEach(v -> out.add(new DisallowedMember(v.path("id").asInt(), v.path("type").asText())));
        return out;
    }

    /**
     * Time the expressions took inside mono since the last scenario began (the JSON to and from this process
     * excluded), in microseconds, how many were evaluated, and the time per expression id.
     */
    public record ExpressionTiming(long micros, int evaluations, java.util.Map<Integer, Long> microsById) {
    }

    public ExpressionTiming timing() {
        JsonNode v = require(command("timing")).path("value");
        java.util.Map<Integer, Long> byId = new java.util.TreeMap<>();
        v.path("microsById").fields().forEachRemaining(f -> byId.put(Integer.parseInt(f.getKey()), f.getValue().asLong()));
        return new ExpressionTiming(v.path("expressionMicros").asLong(), v.path("evaluations").asInt(), byId);
    }

    @Override
    public void close() {
        try {
            in.close();
        } catch (IOException e) {
            // mono already gone
        }
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            reader.shutdownNow();
            try {
                Files.deleteIfExists(stderr);
            } catch (IOException e) {
                // left in target/, harmless
            }
        }
    }
}
