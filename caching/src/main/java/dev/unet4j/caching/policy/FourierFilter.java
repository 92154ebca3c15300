package dev.unet4j.caching.policy;

import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code fourier_filter(x, threshold, scale)}: FFT over (H, W), fftshift, multiply the centre window
 * {@code [H/2 - t, H/2 + t) x [W/2 - t, W/2 + t)} by {@code scale}, inverse FFT, real part. Only the window's
 * frequencies change, so it is computed as {@code x + (scale - 1) * Re(P x)} with {@code P} the projection on those
 * few frequencies, in double precision (exact to float32 rounding, not torch's FFT rounding).
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

    /** The filtered copy of NCHW {@code x}, allocated from {@code ws}. */
    public static Tensor apply(Tensor x, int threshold, float scale, Workspace ws) {
        int b = (int) x.dim(0), c = (int) x.dim(1), h = (int) x.dim(2), w = (int) x.dim(3);
        float[] v = x.toFloatArray();
        int[] fy = window(h, threshold), fx = window(w, threshold);
        // the 2-D exponential is separable: per-axis cos/sin tables, computed once per call (not per element)
        double[][] cy = new double[fy.length][h], sy = new double[fy.length][h];
        double[][] cx = new double[fx.length][w], sx = new double[fx.length][w];
        for (int i = 0; i < fy.length; i++) {
            for (int y = 0; y < h; y++) {
                double a = 2 * Math.PI * ((double) fy[i] * y / h);
                cy[i][y] = Math.cos(a);
                sy[i][y] = Math.sin(a);
            }
        }
        for (int j = 0; j < fx.length; j++) {
            for (int xx = 0; xx < w; xx++) {
                double a = 2 * Math.PI * ((double) fx[j] * xx / w);
                cx[j][xx] = Math.cos(a);
                sx[j][xx] = Math.sin(a);
            }
        }
        double[] out = new double[h * w];
        for (int plane = 0; plane < b * c; plane++) {
            int off = plane * h * w;
            java.util.Arrays.fill(out, 0);
            for (int i = 0; i < fy.length; i++) {
                for (int j = 0; j < fx.length; j++) {
                    double re = 0, im = 0;                   // X[ky, kx] = sum v e^{-i(ay + ax)}
                    for (int y = 0; y < h; y++) {
                        double rr = 0, ri = 0;               // the row's sum v e^{-i ax}
                        for (int xx = 0; xx < w; xx++) {
                            double val = v[off + y * w + xx];
                            rr += val * cx[j][xx];
                            ri -= val * sx[j][xx];
                        }
                        re += rr * cy[i][y] + ri * sy[i][y];  // times e^{-i ay}
                        im += ri * cy[i][y] - rr * sy[i][y];
                    }
                    for (int y = 0; y < h; y++) {
                        double a = re * cy[i][y] - im * sy[i][y], q = re * sy[i][y] + im * cy[i][y]; // X e^{i ay}
                        for (int xx = 0; xx < w; xx++) out[y * w + xx] += a * cx[j][xx] - q * sx[j][xx]; // Re(. e^{i ax})
                    }
                }
            }
            double norm = 1.0 / (h * w);
            for (int i = 0; i < h * w; i++) v[off + i] = (float) (v[off + i] + (scale - 1.0) * out[i] * norm);
        }
        Tensor t = Tensor.allocate(ws.allocator(), x.shape());
        t.setFrom(v);
        return t;
    }
}
