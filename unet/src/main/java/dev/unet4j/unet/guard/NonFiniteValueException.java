package dev.unet4j.unet.guard;

/**
 * A UNet node produced NaN or infinite values (raised by {@link NonFiniteGuard}). Names the node, the call and the
 * first bad element so a corrupt weight or an overflowing layer can be found without rerunning.
 */
public final class NonFiniteValueException extends ArithmeticException {
    private static final long serialVersionUID = 1L;

    private final String path;
    private final int callIndex;
    private final long count;
    private final long firstIndex;
    private final float firstValue;

    public NonFiniteValueException(String path, int callIndex, String where, long count, long numel, long firstIndex, float firstValue) {
        super(count + " of " + numel + " values of " + where + " " + path + " in UNet call " + callIndex
                + " are not finite; first at flat index " + firstIndex + " = " + firstValue);
        this.path = path;
        this.callIndex = callIndex;
        this.count = count;
        this.firstIndex = firstIndex;
        this.firstValue = firstValue;
    }

    /** The node path ({@code down_blocks.1.attentions.0}) or {@code skip.k}. */
    public String path() {
        return path;
    }

    /** The session's call index of the failing call. */
    public int callIndex() {
        return callIndex;
    }

    public long count() {
        return count;
    }

    /** Flat index in logical row-major order of the first non-finite value. */
    public long firstIndex() {
        return firstIndex;
    }

    public float firstValue() {
        return firstValue;
    }
}
