package dev.unet4j.caching;

/** Keeping a tensor would exceed {@link CacheOptions#maxBytes()} under {@link CacheOptions.Overflow#FAIL}. */
public final class CacheBudgetExceededException extends RuntimeException {
    public CacheBudgetExceededException(String message) {
        super(message);
    }
}
