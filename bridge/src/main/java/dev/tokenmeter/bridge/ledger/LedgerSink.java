package dev.tokenmeter.bridge.ledger;

import dev.tokenmeter.bridge.mapping.OutgoingEvent;
import dev.tokenmeter.bridge.sink.SendResult;
import dev.tokenmeter.bridge.sink.Sink;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * A local ledger: the CloudEvents that would go to OpenMeter, one JSON per line, appended. Lets the bridge run
 * with no OpenMeter at all, and gives an auditable file that {@code tokenmeter replay} can send later.
 */
public final class LedgerSink implements Sink {

    private final Path file;
    private final FileChannel channel;

    public LedgerSink(Path file) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            this.file = file;
            this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open ledger " + file, e);
        }
    }

    public Path file() {
        return file;
    }

    @Override
    public synchronized SendResult send(List<OutgoingEvent> batch) {
        int size = 0;
        for (OutgoingEvent e : batch) {
            size += e.json().length + 1;
        }
        ByteBuffer buffer = ByteBuffer.allocate(size);
        for (OutgoingEvent e : batch) {
            buffer.put(e.json()).put((byte) '\n');
        }
        buffer.flip();
        try {
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(false);
            return SendResult.ACCEPTED;
        } catch (IOException e) {
            return new SendResult.Retryable("io", "cannot append to ledger " + file + ": " + e, null);
        }
    }

    @Override
    public String toString() {
        return "local ledger " + file;
    }

    @Override
    public synchronized void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
