package dev.unet4j.spark;

/**
 * What a row gets: a PNG, or an error message (then {@code png} is null).
 *
 * @param png      the image as PNG bytes, or null when the row failed
 * @param seed     the seed used
 * @param settings the settings the row ran with as JSON (sampler, steps, guidance, size, cache policy, quantization)
 * @param millis   wall time of the row (a batch's time is shared equally by its rows)
 * @param error    why the row failed, or null
 */
record RowResult(byte[] png, long seed, String settings, long millis, String error) {

    static RowResult failed(long seed, String settings, long millis, Throwable e) {
        return new RowResult(null, seed, settings, millis, describe(e));
    }

    /** A row's error text: the exception's own message, its type when it has none. */
    static String describe(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getName() : m;
    }
}
