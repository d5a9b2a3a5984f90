package dev.tokenmeter.bridge.deadletter;

import com.azure.core.util.BinaryData;
import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.models.BlobHttpHeaders;
import com.azure.storage.blob.options.BlobParallelUploadOptions;
import dev.tokenmeter.bridge.Redaction;

import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Dead letters in a Blob container, one block blob per letter, holding its {@link DeadLetterJson}:
 * {@code 2026-12-02/031500.123Z-invalid_record-<hash>.json}. One blob per letter rather than an append blob per
 * replica: a retried upload after a timeout writes the same name with the same bytes (the name is a hash of the
 * letter), so retrying can never duplicate or interleave a letter; replicas never share a blob, so nothing has to
 * coordinate them; and there is no 50,000-block limit to roll over. A letter is durable once its upload
 * returns. {@link #writeAll} uploads a group in parallel, which is what keeps a burst of bad records fast.
 */
public final class BlobDeadLetterStore implements DeadLetterStore {

    static final DateTimeFormatter NAME_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd/HHmmss.SSS'Z'")
            .withZone(ZoneOffset.UTC);
    private static final int PARALLEL_UPLOADS = 8;

    private final BlobContainerClient container;
    private final ExecutorService uploads;
    private final AtomicLong written = new AtomicLong();

    public BlobDeadLetterStore(BlobContainerClient container) {
        this.container = container;
        AtomicInteger n = new AtomicInteger();
        this.uploads = Executors.newFixedThreadPool(PARALLEL_UPLOADS, r -> {
            Thread t = new Thread(r, "tokenmeter-dead-letter-upload-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Fails at once when the container certainly does not exist (a typo in its URL), instead of retrying every
     * letter for as long as it takes; a store that cannot be reached now is only a warning (it is retried).
     *
     * @return null when it exists or cannot be checked now, else what is wrong
     */
    public String problem() {
        try {
            return container.exists() ? null : "dead-letter container " + describe() + " does not exist";
        } catch (RuntimeException e) {
            return null;
        }
    }

    @Override
    public String describe() {
        return Redaction.url(container.getBlobContainerUrl());
    }

    @Override
    public void write(DeadLetter letter) throws IOException {
        upload(letter);
        written.incrementAndGet();
    }

    @Override
    public void writeAll(List<DeadLetter> letters) throws IOException {
        if (letters.size() == 1) {
            write(letters.get(0));
            return;
        }
        List<Future<?>> pending = new ArrayList<>(letters.size());
        for (DeadLetter letter : letters) {
            pending.add(uploads.submit(() -> {
                upload(letter);
                return null;
            }));
        }
        IOException failure = null;
        for (Future<?> upload : pending) {
            try {
                upload.get();
            } catch (ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
                }
            } catch (InterruptedException e) {
                pending.forEach(p -> p.cancel(true));
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while writing dead letters");
            }
        }
        if (failure != null) {
            throw failure;
        }
        written.addAndGet(letters.size());
    }

    private void upload(DeadLetter letter) throws IOException {
        byte[] json = DeadLetterJson.encode(letter);
        String name = blobName(letter, json);
        try {
            container.getBlobClient(name).uploadWithResponse(new BlobParallelUploadOptions(BinaryData.fromBytes(json))
                    .setHeaders(new BlobHttpHeaders().setContentType("application/json")), null, null);
        } catch (RuntimeException e) {
            // the SDK's exceptions are unchecked; the retrying writer retries IOExceptions, for as long as it takes
            throw new IOException("cannot upload dead letter " + name + " to " + describe() + ": " + Redaction.url(String.valueOf(e.getMessage())), e);
        }
    }

    static String blobName(DeadLetter letter, byte[] json) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(json);
            return NAME_TIME.format(letter.at()) + "-" + letter.reason().label() + "-"
                    + HexFormat.of().formatHex(hash, 0, 8) + ".json";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    @Override
    public long written() {
        return written.get();
    }

    @Override
    public void close() {
        uploads.shutdownNow();
    }
}
