package dev.unet4j.core.random;

/**
 * A seedable random generator whose {@link #randn} draws are bit-identical to {@code torch.randn(shape,
 * generator=torch.Generator().manual_seed(seed))} on CPU in float32 (the x86-64 AVX2 build), including consecutive
 * draws from one generator.
 *
 * <p>How torch does it: the engine is a standard 32-bit mt19937 seeded with the low 32 bits of the seed. A float
 * uniform is {@code (next() & 0xFFFFFF) * 2^-24}.
 * <ul>
 *   <li>Contiguous float tensors with at least 16 elements take the vectorised {@code normal_fill} path: all uniforms
 *   are drawn first; every block of 16 becomes 16 normals by Box-Muller over the pairs (j, j+8), evaluated with the
 *   single-precision Cephes approximations of {@code avx_mathfun.h} ({@code log256_ps}, {@code sincos256_ps}) with
 *   fused multiply-adds; when the size is not a multiple of 16, the last 16 positions are refilled with fresh
 *   uniforms and transformed again.</li>
 *   <li>Smaller tensors take the scalar path: {@code normal_distribution<double>} with 53-bit uniforms from two
 *   engine outputs, Box-Muller in double, and the sine half cached in the generator for the next draw.</li>
 * </ul>
 * Not thread-safe (neither is sharing a torch generator between threads).
 */
public final class TorchGenerator {
    private static final int N = 624;
    private static final int M = 397;

    private final int[] mt = new int[N];
    private int index;
    private final long seed;
    /** Cached second Box-Muller value of the scalar (double) path; NaN when empty. */
    private double nextDoubleNormal = Double.NaN;

    public TorchGenerator(long seed) {
        this.seed = seed;
        mt[0] = (int) seed; // at::mt19937 keeps only the low 32 bits of the seed
        for (int i = 1; i < N; i++) {
            int prev = mt[i - 1];
            mt[i] = 1812433253 * (prev ^ (prev >>> 30)) + i;
        }
        index = N;
    }

    public long seed() {
        return seed;
    }

    /** Next raw 32-bit engine output, as an unsigned value. */
    public long random() {
        if (index >= N) twist();
        int y = mt[index++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >>> 18;
        return y & 0xFFFFFFFFL;
    }

    /**
     * {@code n} draws of {@code torch.randint(high, size, generator=g)} on CPU, in row-major order: ATen's
     * {@code random_from_to} kernel runs serially and maps each {@code random()} to {@code random() % high} when the
     * range is below 2^32 ({@code uniform_int_from_to_distribution}), {@code random64() % high} otherwise.
     */
    public long[] randint(long high, int n) {
        if (high < 1) throw new IllegalArgumentException("randint: high must be >= 1, got " + high);
        long[] out = new long[n];
        boolean wide = high >= (1L << 32);
        for (int i = 0; i < n; i++) out[i] = Long.remainderUnsigned(wide ? random64() : random(), high);
        return out;
    }

    /** torch's random64(): two engine outputs, the first in the high half. */
    public long random64() {
        long hi = random();
        long lo = random();
        return (hi << 32) | lo;
    }

    private void twist() {
        for (int k = 0; k < N; k++) {
            int y = (mt[k] & 0x80000000) | (mt[(k + 1) % N] & 0x7fffffff);
            mt[k] = mt[(k + M) % N] ^ (y >>> 1) ^ ((y & 1) != 0 ? 0x9908b0df : 0);
        }
        index = 0;
    }

    /** uniform_real_distribution&lt;float&gt;(0, 1). */
    private float uniformFloat() {
        return (float) (random() & 0xFFFFFF) * (1.0f / (1 << 24));
    }

    /** uniform_real_distribution&lt;double&gt;(0, 1). */
    private double uniformDouble() {
        return (random64() & ((1L << 53) - 1)) * (1.0 / (1L << 53));
    }

    /**
     * {@code n} standard normal draws, as {@code torch.randn(n)} would return them; {@code torch.randn(shape)} draws
     * the same values in row-major order, so a shape needs only its element count (the samplers' {@code Latents.randn}).
     */
    public float[] randn(int n) {
        float[] out = new float[n];
        if (n >= 16) {
            normalFill(out);
        } else {
            for (int i = 0; i < n; i++) out[i] = (float) scalarNormal();
        }
        return out;
    }

    private double scalarNormal() {
        if (!Double.isNaN(nextDoubleNormal)) {
            double r = nextDoubleNormal;
            nextDoubleNormal = Double.NaN;
            return r;
        }
        double u1 = uniformDouble();
        double u2 = uniformDouble();
        double r = Math.sqrt(-2.0 * Math.log(1.0 - u2));
        double theta = 2.0 * Math.PI * u1;
        nextDoubleNormal = r * Math.sin(theta);
        return r * Math.cos(theta);
    }

    private void normalFill(float[] data) {
        int n = data.length;
        for (int i = 0; i < n; i++) data[i] = uniformFloat();
        for (int i = 0; i + 16 <= n; i += 16) normalFill16(data, i);
        if (n % 16 != 0) {
            int off = n - 16;
            for (int i = 0; i < 16; i++) data[off + i] = uniformFloat();
            normalFill16(data, off);
        }
    }

    private static final float TWO_PI = (float) (2.0 * Math.PI);

    private static void normalFill16(float[] d, int off) {
        for (int j = 0; j < 8; j++) {
            float u1 = 1.0f - d[off + j];
            float u2 = d[off + j + 8];
            float radius = (float) Math.sqrt(-2.0f * CephesF32.log(u1));
            float theta = TWO_PI * u2;
            float[] sc = CephesF32.sincos(theta);
            d[off + j] = radius * sc[1];
            d[off + j + 8] = radius * sc[0];
        }
    }
}
