package dev.unet4j.caching.policy;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The separable DFT against the 2-D definition, its inverse, and FasterCache's disc mask in the shifted grid. */
class Dft2Test {
    @Test
    void equalsTheDefinition() {
        Random rnd = new Random(7);
        for (int[] hw : new int[][] {{5, 7}, {8, 8}, {1, 4}}) {
            int h = hw[0], w = hw[1];
            double[] re = new double[h * w], im = new double[h * w];
            for (int i = 0; i < re.length; i++) {
                re[i] = rnd.nextGaussian();
                im[i] = rnd.nextGaussian();
            }
            double[] r = re.clone(), q = im.clone();
            new Dft2(h, w).transform(r, q, false);
            for (int ky = 0; ky < h; ky++)
                for (int kx = 0; kx < w; kx++) {
                    double sr = 0, si = 0;
                    for (int y = 0; y < h; y++)
                        for (int x = 0; x < w; x++) {
                            double a = -2 * Math.PI * ((double) ky * y / h + (double) kx * x / w);
                            sr += re[y * w + x] * Math.cos(a) - im[y * w + x] * Math.sin(a);
                            si += re[y * w + x] * Math.sin(a) + im[y * w + x] * Math.cos(a);
                        }
                    assertEquals(sr, r[ky * w + kx], 1e-9);
                    assertEquals(si, q[ky * w + kx], 1e-9);
                }
            new Dft2(h, w).transform(r, q, true);
            for (int i = 0; i < re.length; i++) {
                assertEquals(re[i], r[i], 1e-12);
                assertEquals(im[i], q[i], 1e-12);
            }
        }
    }

    @Test
    void lowFrequencyMaskIsTheShiftedDisc() {
        for (int[] hw : new int[][] {{16, 16}, {7, 9}, {64, 64}, {10, 5}}) {
            int h = hw[0], w = hw[1], r = Math.min(h, w) / 5;
            boolean[] m = new Dft2(h, w).lowFrequencyMask();
            // fftshift moves frequency k to index (k + n // 2) mod n; the mask is the disc around (H // 2, W // 2) there
            int count = 0;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    boolean low = (x - w / 2) * (x - w / 2) + (y - h / 2) * (y - h / 2) <= r * r;
                    int ky = Math.floorMod(y - h / 2, h), kx = Math.floorMod(x - w / 2, w);
                    assertEquals(low, m[ky * w + kx], h + "x" + w + " at shifted (" + y + ", " + x + ")");
                    if (low) count++;
                }
            assertEquals(count, java.util.stream.IntStream.range(0, m.length).filter(i -> m[i]).count());
        }
    }
}
