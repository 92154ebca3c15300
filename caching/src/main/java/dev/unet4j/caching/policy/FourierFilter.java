package dev.unet4j.caching.policy;

import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

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
        int[] fy = window(h, threshold), fx = window(w, threshold);
        int f = fy.length * fx.length;
        // e^{i(ay + ax)} per window frequency and pixel (the forward transform uses its conjugate)
        double[][] cos = new double[f][hw], sin = new double[f][hw];
        for (int i = 0; i < fy.length; i++) {
            for (int j = 0; j < fx.length; j++) {
                for (int y = 0; y < h; y++) {
                    for (int xx = 0; xx < w; xx++) {
                        double a = 2 * Math.PI * ((double) fy[i] * y / h + (double) fx[j] * xx / w);
                        cos[i * fx.length + j][y * w + xx] = Math.cos(a);
                        sin[i * fx.length + j][y * w + xx] = Math.sin(a);
                    }
                }
            }
        }
        float k = (float) ((scale - 1.0) / hw);
        float[][] cs = new float[f][hw], sn = new float[f][hw];
        for (int q = 0; q < f; q++) {
            for (int p = 0; p < hw; p++) {
                cs[q][p] = (float) cos[q][p];
                sn[q][p] = (float) sin[q][p];
            }
        }
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
