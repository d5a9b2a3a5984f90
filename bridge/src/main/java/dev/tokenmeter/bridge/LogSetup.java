package dev.tokenmeter.bridge;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * JSON logs by default (logback.xml); {@code text} swaps in a one-line pattern for people at a terminal; quiet
 * keeps only warnings and errors.
 */
final class LogSetup {

    private static ch.qos.logback.classic.Level configuredLevel;

    private LogSetup() {
    }

    static synchronized void apply(String format, boolean quiet) {
        boolean json = "json".equalsIgnoreCase(format);
        if (!json && !"text".equalsIgnoreCase(format)) {
            throw new IllegalArgumentException("unknown log format '" + format + "': use json or text");
        }
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return;
        }
        ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        if (configuredLevel == null) {
            configuredLevel = root.getLevel();
        }
        // back to the configured level when not quiet: the tests run the bridge many times in one JVM
        root.setLevel(quiet ? ch.qos.logback.classic.Level.WARN : configuredLevel);
        if (json) {
            return;
        }
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern("%d{HH:mm:ss.SSS} %-5level %logger{0} - %msg%n");
        encoder.start();
        ConsoleAppender<ILoggingEvent> appender = new ConsoleAppender<>();
        appender.setContext(context);
        appender.setTarget("System.err");
        appender.setEncoder(encoder);
        appender.start();
        root.detachAndStopAllAppenders();
        root.addAppender(appender);
    }
}
