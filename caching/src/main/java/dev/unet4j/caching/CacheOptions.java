package dev.unet4j.caching;

/**
 * Per-generation cache limits.
 *
 * @param maxBytes  bound on the bytes all policies of a generation may hold at once ({@code Long.MAX_VALUE}: none)
 * @param overflow  what happens when keeping a tensor would exceed the bound
 */
public record CacheOptions(long maxBytes, Overflow overflow) {

    /** Behaviour when the byte bound is reached. */
    public enum Overflow {
        /** Throw {@link CacheBudgetExceededException} naming the node and the sizes. */
        FAIL,
        /**
         * Keep nothing more this refresh: the policy notices its cache is incomplete and runs the calls that would
         * have reused it in full (reported as {@code full (cache refused)}), so results stay exact, only slower.
         */
        RUN_FULL
    }

    public CacheOptions {
        if (maxBytes <= 0) throw new IllegalArgumentException("maxBytes must be > 0, got " + maxBytes);
        if (overflow == null) throw new IllegalArgumentException("overflow behaviour is required");
    }

    public static CacheOptions unbounded() {
        return new CacheOptions(Long.MAX_VALUE, Overflow.FAIL);
    }

    public static CacheOptions bounded(long maxBytes, Overflow overflow) {
        return new CacheOptions(maxBytes, overflow);
    }
}
