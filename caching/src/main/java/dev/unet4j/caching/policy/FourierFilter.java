package dev.unet4j.caching.policy;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * diffusers' {@code fourier_filter(x, threshold, scale)}: FFT over (H, W), fftshift, multiply the centre window
 * {@code [H/2 - t, H/2 + t) x [W/2 - t, W/2 + t)} by {@code scale}, inverse FFT, real part. Only the window's
 * frequencies change, so it is computed as {@code x + (scale - 1) * Re(P x)} with {@code P} the projection on those
 * few frequencies (float32 sums over one plane's pixels, as torch's float32 FFT; not bit-identical to it).
 */
public final class FourierFilter {
    private FourierFilter() {
    }

    /** The unshifted frequencies of a size-{@code n} axis the window covers (Python slice semantics). */
    static int[] window(int n, int t) {
        int c = n / 2, from = c - t, to = c + t;
        if (from < 0) from += n;                           // a negative slice start counts from the end
        to = Math.min(to, n);
        List<Integer> f = new ArrayList<>();
        for (int i = from; i < to; i++) {
            int freq = Math.floorMod(i - n / 2, n);        // fftshift put frequency 0 at index n/2
            if (!f.contains(freq)) f.add(freq);
        }
        return f.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Maps of at most this many pixels run as one matmul ({@link #apply(Tensor, int, float, Kernels, Workspace)}). */
    static final int OPERATOR_MAX_PIXELS = 256;
    private static final Map<String, float[]> OPERATORS = new ConcurrentHashMap<>();

    /**
     * The filter on the kernels: it is linear in each (sample, channel) plane, {@code y = x A} with the symmetric
     * {@code A = I + (scale - 1) / HW * sum_q cos(theta_q(p) - theta_q(p'))} over the window's frequencies q, so small
     * maps ({@link #OPERATOR_MAX_PIXELS}) take one batched matmul {@code [N, C, HW] x [HW, HW]}; larger ones the
     * O(HW) projection below.
     */
    public static Tensor apply(Tensor x, int threshold, float scale, Kernels k, Workspace ws) {
        int b = (int) x.dim(0), c = (int) x.dim(1), h = (int) x.dim(2), w = (int) x.dim(3), hw = h * w;
        if (hw > OPERATOR_MAX_PIXELS || !(x.isChannelsLast() || x.isContiguous())) return apply(x, threshold, scale, ws);
        float[] a = OPERATORS.computeIfAbsent(h + "x" + w + "/" + threshold + "/" + scale, key -> operator(h, w, threshold, scale));
        // [N, C, HW] over the same memory: channels-last stores it with the C stride 1
        Tensor rows = x.isContiguous() && !x.isChannelsLast()
                ? x.view(new long[]{b, c, hw}, new long[]{(long) c * hw, hw, 1}, x.offset())
                : x.view(new long[]{b, c, hw}, new long[]{(long) hw * c, 1, c}, x.offset());
        try (Tensor op = Tensor.of(a, 1, hw, hw)) {
            Tensor y = k.matmul(ws, rows, op, false, 1f);     // [N, C, HW]
            if (!y.isContiguous()) {
                Tensor dense = Tensor.allocate(ws.allocator(), y.shape());
                dense.copyFrom(y);
                y.close();
                y = dense;
            }
            return y.moveTo(new long[]{b, c, h, w}, Tensor.rowMajorStrides(new long[]{b, c, h, w}), y.offset());
        }
    }

    /** {@code theta_q(p) = 2 pi (ky y / H + kx x / W)} for each window frequency q = (ky, kx) and pixel p = (y, x). */
    private static double[][] angles(int h, int w, int threshold) {
        int[] fy = window(h, threshold), fx = window(w, threshold);
        double[][] theta = new double[fy.length * fx.length][h * w];
        for (int i = 0; i < fy.length; i++)
            for (int j = 0; j < fx.length; j++)
                for (int y = 0; y < h; y++)
                    for (int xx = 0; xx < w; xx++) theta[i * fx.length + j][y * w + xx] = 2 * Math.PI * ((double) fy[i] * y / h + (double) fx[j] * xx / w);
        return theta;
    }

    /** {@code A} above, row-major {@code [HW, HW]}, in double then rounded. */
    static float[] operator(int h, int w, int threshold, float scale) {
        int hw = h * w;
        double[][] theta = angles(h, w, threshold);
        float[] a = new float[hw * hw];
        double k = (scale - 1.0) / hw;
        for (int p = 0; p < hw; p++) {
            for (int q = 0; q < hw; q++) {
                double sum = 0;
                for (double[] t : theta) sum += Math.cos(t[p] - t[q]);
                a[p * hw + q] = (float) ((p == q ? 1 : 0) + k * sum);
            }
        }
        return a;
    }

    /**
     * The filtered copy of NCHW {@code x}, allocated channels-last from {@code ws}. Works on the channels-last values
     * (a bulk copy when {@code x} is stored that way) with every loop innermost over channels, so the JIT vectorises
     * it: for each sample, the window's DFT coefficients of all channels at once, then each pixel's correction.
     */
    public static Tensor apply(Tensor x, int threshold, float scale, Workspace ws) {
        int b = (int) x.dim(0), c = (int) x.dim(1), h = (int) x.dim(2), w = (int) x.dim(3), hw = h * w;
        float[] v = new float[b * hw * c];                    // [b][pixel][channel]
        if (x.isChannelsLast()) {
            x.rawBuffer().get(v);
        } else {
            float[] nchw = x.toFloatArray();
            for (int n = 0; n < b; n++)
                for (int ch = 0; ch < c; ch++)
                    for (int p = 0; p < hw; p++) v[(n * hw + p) * c + ch] = nchw[(n * c + ch) * hw + p];
        }
        double[][] theta = angles(h, w, threshold);
        int f = theta.length;
        // e^{i theta} per window frequency and pixel (the forward transform uses its conjugate)
        float[][] cs = new float[f][hw], sn = new float[f][hw];
        for (int q = 0; q < f; q++) {
            for (int p = 0; p < hw; p++) {
                cs[q][p] = (float) Math.cos(theta[q][p]);
                sn[q][p] = (float) Math.sin(theta[q][p]);
            }
        }
        float k = (float) ((scale - 1.0) / hw);
        // every inner loop indexes its arrays with the same ch (a pixel's channels copied to px first), so the JIT
        // can vectorise it without proving the arrays distinct
        float[][] re = new float[f][c], im = new float[f][c];
        float[] acc = new float[c], px = new float[c];
        for (int n = 0; n < b; n++) {
            int base = n * hw * c;
            for (int q = 0; q < f; q++) {
                java.util.Arrays.fill(re[q], 0f);
                java.util.Arrays.fill(im[q], 0f);
            }
            for (int p = 0; p < hw; p++) {                     // X_q = sum v e^{-i theta}
                System.arraycopy(v, base + p * c, px, 0, c);
                for (int q = 0; q < f; q++) {
                    float cp = cs[q][p], sp = sn[q][p];
                    float[] r = re[q], m = im[q];
                    for (int ch = 0; ch < c; ch++) r[ch] += px[ch] * cp;
                    for (int ch = 0; ch < c; ch++) m[ch] -= px[ch] * sp;
                }
            }
            for (int p = 0; p < hw; p++) {                     // x + (scale - 1) / HW * sum_q Re(X_q e^{i theta})
                java.util.Arrays.fill(acc, 0f);
                for (int q = 0; q < f; q++) {
                    float cp = cs[q][p], sp = sn[q][p];
                    float[] r = re[q], m = im[q];
                    for (int ch = 0; ch < c; ch++) acc[ch] += r[ch] * cp - m[ch] * sp;
                }
                System.arraycopy(v, base + p * c, px, 0, c);
                for (int ch = 0; ch < c; ch++) px[ch] += k * acc[ch];
                System.arraycopy(px, 0, v, base + p * c, c);
            }
        }
        Tensor t = Tensor.allocateChannelsLast(ws.allocator(), b, c, h, w);
        t.rawBuffer().put(v);
        return t;
    }
}
