package dev.unet4j.caching;

/**
 * A caching / skip-scaling method. Immutable and shareable; all per-generation state lives in the {@link PolicyRun}
 * it starts for each {@link CacheSession}. Policies compose with {@code +} ({@link CachePolicies#compose}).
 */
public interface CachePolicy {
    /** The one-line text form {@link CachePolicies#parse} reads back to an equal policy. */
    String spec();

    /** Per-generation state for one session. */
    PolicyRun start(RunContext context);

    /** Whether this policy decides how whole calls run (forward vs encode/decode); at most one per composition. */
    default boolean callLevel() {
        return false;
    }
}
