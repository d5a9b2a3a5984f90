package dev.tokenmeter.cli.reconcile;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;

/** One cell of the comparison: a model deployment in one UTC hour. */
public record Slot(Instant hour, String deployment) implements Comparable<Slot> {

    /** Deployment name used where a source reported none (a failed request, a metric without the dimension). */
    public static final String NONE = "(none)";

    public static Slot of(Instant time, String deployment) {
        return new Slot(time.truncatedTo(ChronoUnit.HOURS), deployment == null || deployment.isBlank() ? NONE : deployment);
    }

    private static final Comparator<Slot> ORDER = Comparator.comparing(Slot::hour).thenComparing(Slot::deployment);

    @Override
    public int compareTo(Slot o) {
        return ORDER.compare(this, o);
    }
}
