package dev.tokenmeter.bridge.source.testing;

import com.azure.core.amqp.models.AmqpAnnotatedMessage;
import com.azure.core.amqp.models.AmqpMessageBody;
import com.azure.core.util.Context;
import com.azure.messaging.eventhubs.EventData;

import java.lang.reflect.Constructor;
import java.time.Instant;

/**
 * Event Hubs events as the SDK hands received ones to a processor: with sequence number and offset. Public
 * constructors only make events to send (no system properties), so this uses the SDK's own package-private
 * constructors, the ones its receive path calls.
 */
public final class ReceivedEvents {

    private static final Constructor<?> SYSTEM_PROPERTIES;
    private static final Constructor<EventData> EVENT;

    static {
        try {
            Class<?> type = Class.forName("com.azure.messaging.eventhubs.SystemProperties");
            SYSTEM_PROPERTIES = type.getDeclaredConstructor(AmqpAnnotatedMessage.class, String.class, Instant.class,
                    long.class, String.class);
            SYSTEM_PROPERTIES.setAccessible(true);
            EVENT = EventData.class.getDeclaredConstructor(AmqpAnnotatedMessage.class, type, Context.class);
            EVENT.setAccessible(true);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private ReceivedEvents() {
    }

    /** An event at {@code sequence}, with an offset string derived from it as Event Hubs' are opaque anyway. */
    public static EventData event(long sequence, byte[] body) {
        AmqpAnnotatedMessage message = new AmqpAnnotatedMessage(AmqpMessageBody.fromData(body));
        try {
            Object properties = SYSTEM_PROPERTIES.newInstance(message, offsetOf(sequence), Instant.now(), sequence, null);
            return EVENT.newInstance(message, properties, Context.NONE);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String offsetOf(long sequence) {
        return Long.toString(sequence * 1024);
    }
}
