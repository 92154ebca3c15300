package dev.unet4j.caching.policy;

/**
 * The 2-D discrete Fourier transform of one {@code H x W} plane in double precision, row-column (separable) with
 * cosine/sine tables: {@code X[ky, kx] = sum x[y, x] e^{-2 pi i (ky y / H + kx x / W)}} and its inverse with
 * {@code 1 / (HW)}, as {@code torch.fft.fft2}/{@code ifft2} over the last two dimensions. O(HW (H + W)) per plane: a
 * 64x64 latent plane is ~0.5 M multiply-adds, negligible next to a UNet call.
 */
final class Dft2 {
    final int h, w;
    private final double[] cosH, sinH, cosW, sinW;

    Dft2(int h, int w) {
        if (h < 1 || w < 1) throw new IllegalArgumentException("DFT of an empty plane " + h + "x" + w);
        this.h = h;
        this.w = w;
        cosH = new double[h];
        sinH = new double[h];
        cosW = new double[w];
        sinW = new double[w];
        for (int i = 0; i < h; i++) {
            cosH[i] = Math.cos(2 * Math.PI * i / h);
            sinH[i] = Math.sin(2 * Math.PI * i / h);
        }
        for (int i = 0; i < w; i++) {
            cosW[i] = Math.cos(2 * Math.PI * i / w);
            sinW[i] = Math.sin(2 * Math.PI * i / w);
        }
    }

    /** In place over {@code re/im} ({@code [H*W]} row-major); {@code inverse} uses {@code e^{+...}} and {@code 1/(HW)}. */
    void transform(double[] re, double[] im, boolean inverse) {
        double sign = inverse ? 1 : -1;
        double[] tr = new double[Math.max(h, w)], ti = new double[Math.max(h, w)];
        for (int y = 0; y < h; y++) {                                  // along each row (x)
            int row = y * w;
            for (int k = 0; k < w; k++) {
                double sr = 0, si = 0;
                for (int x = 0; x < w; x++) {
                    int m = (int) ((long) k * x % w);
                    double c = cosW[m], s = sign * sinW[m];
                    double a = re[row + x], b = im[row + x];
                    sr += a * c - b * s;
                    si += a * s + b * c;
                }
                tr[k] = sr;
                ti[k] = si;
            }
            System.arraycopy(tr, 0, re, row, w);
            System.arraycopy(ti, 0, im, row, w);
        }
        for (int x = 0; x < w; x++) {                                  // along each column (y)
            for (int k = 0; k < h; k++) {
                double sr = 0, si = 0;
                for (int y = 0; y < h; y++) {
                    int m = (int) ((long) k * y % h);
                    double c = cosH[m], s = sign * sinH[m];
                    double a = re[y * w + x], b = im[y * w + x];
                    sr += a * c - b * s;
                    si += a * s + b * c;
                }
                tr[k] = sr;
                ti[k] = si;
            }
            for (int k = 0; k < h; k++) {
                re[k * w + x] = tr[k];
                im[k * w + x] = ti[k];
            }
        }
        if (inverse) {
            double n = (double) h * w;
            for (int i = 0; i < re.length; i++) {
                re[i] /= n;
                im[i] /= n;
            }
        }
    }

    /**
     * FasterCache's low-frequency mask ({@code _split_low_high_freq}): after {@code fftshift} the frequencies within
     * radius {@code min(H, W) // 5} of {@code (H // 2, W // 2)}; returned per unshifted frequency index
     * {@code ky * W + kx} (fftshift puts frequency k at index {@code (k + n // 2) mod n}).
     */
    boolean[] lowFrequencyMask() {
        int r = Math.min(h, w) / 5;
        boolean[] low = new boolean[h * w];
        for (int ky = 0; ky < h; ky++) {
            int sy = (ky + h / 2) % h - h / 2;
            for (int kx = 0; kx < w; kx++) {
                int sx = (kx + w / 2) % w - w / 2;
                low[ky * w + kx] = sx * sx + sy * sy <= r * r;
            }
        }
        return low;
    }
}
