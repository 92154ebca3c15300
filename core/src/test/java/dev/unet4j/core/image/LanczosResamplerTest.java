package dev.unet4j.core.image;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * The fixed-point Pillow resampler against a direct double-precision Lanczos-3 (support widened by the scale when
 * shrinking, weights normalised per output pixel; the two-pass rounding of Pillow allows one level of difference,
 * and two where the horizontal pass's rounding feeds a vertical one).
 */
class LanczosResamplerTest {

    private static double lanczos(double x) {
        if (x == 0) return 1;
        if (x < -3 || x >= 3) return 0;
        return 3 * Math.sin(Math.PI * x) * Math.sin(Math.PI * x / 3) / (Math.PI * Math.PI * x * x);
    }

    private static double[][] weights(int in, int out) {
        double scale = (double) in / out;
        double fs = Math.max(1, scale);
        double[][] w = new double[out][in];
        for (int o = 0; o < out; o++) {
            double center = (o + 0.5) * scale;
            double sum = 0;
            for (int i = 0; i < in; i++) {
                w[o][i] = lanczos((i + 0.5 - center) / fs);
                sum += w[o][i];
            }
            for (int i = 0; i < in; i++) w[o][i] /= sum;
        }
        return w;
    }

    private static double reference(Image im, int w, int h, int x, int y, int c) {
        double[][] wx = weights(im.width(), w);
        double[][] wy = weights(im.height(), h);
        double s = 0;
        for (int j = 0; j < im.height(); j++) {
            double row = 0;
            for (int i = 0; i < im.width(); i++) row += wx[x][i] * im.get(i, j, c);
            row = Math.max(0, Math.min(255, row));
            s += wy[y][j] * row;
        }
        return Math.max(0, Math.min(255, s));
    }

    @Test
    void matchesADirectLanczos() {
        Random r = new Random(3);
        int[][] sizes = {{20, 14, 8, 8}, {9, 7, 24, 16}, {32, 32, 32, 16}, {17, 11, 17, 11}, {30, 10, 12, 25}};
        for (int[] s : sizes) {
            for (int channels : new int[] {1, 3}) {
                byte[] px = new byte[s[0] * s[1] * channels];
                r.nextBytes(px);
                Image im = new Image(s[0], s[1], channels, px);
                Image out = LanczosResampler.resize(im, s[2], s[3]);
                assertEquals(s[2], out.width());
                assertEquals(s[3], out.height());
                for (int y = 0; y < s[3]; y++) {
                    for (int x = 0; x < s[2]; x++) {
                        for (int c = 0; c < channels; c++) {
                            double ref = reference(im, s[2], s[3], x, y, c);
                            assertEquals(ref, out.get(x, y, c), 2.0, java.util.Arrays.toString(s) + " at " + x + "," + y);
                        }
                    }
                }
            }
        }
    }

    @Test
    void constantImagesStayConstantAndSameSizeIsIdentity() {
        byte[] px = new byte[21 * 13 * 3];
        java.util.Arrays.fill(px, (byte) 200);
        Image im = new Image(21, 13, 3, px);
        Image out = LanczosResampler.resize(im, 8, 40);
        for (byte b : out.pixels()) assertEquals(200, b & 0xFF);
        assertSame(im, LanczosResampler.resize(im, 21, 13));
    }
}
