package dev.unet4j.caching;

/** The byte account shared by every policy of one generation; tracks the current and peak bytes held. */
public final class CacheBudget {
    private final CacheOptions options;
    private long held, peak;

    public CacheBudget(CacheOptions options) {
        this.options = options;
    }

    /**
     * Reserves {@code bytes} for {@code what}; returns false (nothing reserved) when over the bound under
     * {@link CacheOptions.Overflow#RUN_FULL}, throws under {@link CacheOptions.Overflow#FAIL}.
     */
    public boolean reserve(long bytes, String what) {
        if (held + bytes > options.maxBytes()) {
            if (options.overflow() == CacheOptions.Overflow.FAIL) {
                throw new CacheBudgetExceededException("caching " + what + " needs " + bytes + " bytes but " + held
                        + " of the " + options.maxBytes() + "-byte cache bound are held");
            }
            return false;
        }
        held += bytes;
        peak = Math.max(peak, held);
        return true;
    }

    public void release(long bytes) {
        held -= bytes;
        if (held < 0) throw new IllegalStateException("cache budget released more than was reserved");
    }

    public long held() {
        return held;
    }

    public long peak() {
        return peak;
    }
}
