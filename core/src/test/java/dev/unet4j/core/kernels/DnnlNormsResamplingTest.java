package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static dev.unet4j.core.kernels.DnnlTestSupport.EXACT;
import static dev.unet4j.core.kernels.DnnlTestSupport.assertMatches;

/** GroupNorm(+SiLU), LayerNorm, nearest upsampling, average pooling and concatenation against the reference. */
class DnnlNormsResamplingTest {

    @Test
    void groupNormWithAndWithoutAffineAndSilu() {
        try (var t = new DnnlTestSupport.Tensors(21)) {
            Tensor gamma = t.randn(12), beta = t.randn(12);
            for (Tensor x : new Tensor[]{t.randn(2, 12, 7, 5), t.randnNhwc(2, 12, 7, 5), t.randn(3, 12, 10), t.randnPadded(2, 12, 3, 4)}) {
                for (boolean silu : new boolean[]{false, true}) {
                    assertMatches("groupNorm(4) " + x + " silu " + silu, EXACT, (k, ws) -> k.groupNorm(ws, x, 4, gamma, beta, 1e-6f, silu));
                    assertMatches("groupNorm(3) no affine " + x, EXACT, (k, ws) -> k.groupNorm(ws, x, 3, null, null, 1e-5f, silu));
                }
            }
        }
    }

    @Test
    void groupNormOfLargeChannelsLastMapsThroughGroupRows() {
        // >= 2^16 elements (or narrow maps), channels-last: groups gathered into rows, layer-normalised, put back, affine + SiLU; group
        // sizes 4 and 8 take oneDNN's blocked layouts, 2 the strided one
        try (var t = new DnnlTestSupport.Tensors(25)) {
            Tensor gamma = t.randn(16), beta = t.randn(16);
            Tensor x = t.randnNhwc(2, 16, 48, 48);
            Tensor narrow = t.randnNhwc(20, 16, 5, 4); // fewer elements, but >= 256 pixels of <= 64 channels: rows too
            // a mean far from zero (40) with a small spread, different per channel: E[x^2] - E[x]^2 would lose it; the
            // inputs' own float32 rounding at 40 limits any float32 path to ~2e-5 here (oneDNN's group-norm primitive: 2.5e-5)
            Tensor shifted = t.randnNhwc(4, 16, 32, 32);
            float[] v = shifted.toFloatArray();
            for (int i = 0; i < v.length; i++) v[i] = v[i] * 0.05f + 40f + (i / 1024 % 16) * 0.5f;
            shifted.setFrom(v);
            for (boolean silu : new boolean[]{false, true}) {
                for (int groups : new int[]{2, 4, 8}) {
                    assertMatches("groupNorm(" + groups + ") " + x + " silu " + silu, EXACT, (k, ws) -> k.groupNorm(ws, x, groups, gamma, beta, 1e-6f, silu));
                    assertMatches("groupNorm(" + groups + ") " + narrow + " silu " + silu, EXACT, (k, ws) -> k.groupNorm(ws, narrow, groups, gamma, beta, 1e-6f, silu));
                }
                assertMatches("groupNorm(4) no affine " + x, EXACT, (k, ws) -> k.groupNorm(ws, x, 4, null, null, 1e-5f, silu));
                assertMatches("groupNorm(4) of a shifted map, silu " + silu, 5 * EXACT, (k, ws) -> k.groupNorm(ws, shifted, 4, gamma, beta, 1e-6f, silu));
            }
        }
    }

    @Test
    void groupNormOfMapsAbove16MBFromStreamedStatistics() {
        // 2 x 32 x 256 x 256 floats = 16.8 MB: per-channel means pooled, group means, squared deviations pooled, one
        // affine pass; a shifted map (mean 40, spread 0.05) checks that the variance is taken about the mean
        try (var t = new DnnlTestSupport.Tensors(26)) {
            Tensor gamma = t.randn(32), beta = t.randn(32);
            Tensor x = t.randnNhwc(2, 32, 256, 256);
            for (int groups : new int[]{4, 16}) {
                assertMatches("groupNorm(" + groups + ") " + x + " silu", EXACT, (k, ws) -> k.groupNorm(ws, x, groups, gamma, beta, 1e-6f, true));
                assertMatches("groupNorm(" + groups + ") no affine " + x, EXACT, (k, ws) -> k.groupNorm(ws, x, groups, null, null, 1e-5f, false));
            }
            float[] v = x.toFloatArray();
            for (int i = 0; i < v.length; i++) v[i] = v[i] * 0.05f + 40f + (i / (256 * 256) % 32) * 0.5f;   // per-channel means 40..55.5
            x.setFrom(v);
            assertMatches("groupNorm(8) of a shifted " + x, 5 * EXACT, (k, ws) -> k.groupNorm(ws, x, 8, gamma, beta, 1e-6f, true));
        }
    }

    @Test
    void layerNormOverLastDimension() {
        try (var t = new DnnlTestSupport.Tensors(22)) {
            Tensor gamma = t.randn(24), beta = t.randn(24);
            for (Tensor x : new Tensor[]{t.randn(2, 9, 24), t.randnPadded(3, 24), t.randn(24)}) {
                assertMatches("layerNorm " + x, EXACT, (k, ws) -> k.layerNorm(ws, x, gamma, beta, 1e-5f));
                assertMatches("layerNorm no affine " + x, EXACT, (k, ws) -> k.layerNorm(ws, x, null, null, 1e-6f));
            }
        }
    }

    @Test
    void nearestUpsamplingIntegerAndFractionalFactors() {
        try (var t = new DnnlTestSupport.Tensors(23)) {
            for (Tensor x : new Tensor[]{t.randn(2, 3, 5, 7), t.randnNhwc(2, 3, 5, 7)}) {
                assertMatches("upsample x2 " + x, 0, (k, ws) -> k.upsampleNearest(ws, x, 10, 14));
                assertMatches("upsample x3,x1 " + x, 0, (k, ws) -> k.upsampleNearest(ws, x, 15, 7));
                assertMatches("upsample fractional " + x, 0, (k, ws) -> k.upsampleNearest(ws, x, 8, 11));
                assertMatches("downsample " + x, 0, (k, ws) -> k.upsampleNearest(ws, x, 3, 4));
            }
        }
    }

    @Test
    void averagePoolingAndConcat() {
        try (var t = new DnnlTestSupport.Tensors(24)) {
            for (Tensor x : new Tensor[]{t.randn(2, 4, 9, 8), t.randnNhwc(2, 4, 9, 8)}) {
                assertMatches("avgPool 2/2 " + x, EXACT, (k, ws) -> k.avgPool2d(ws, x, 2, 2));
                assertMatches("avgPool 3/2 " + x, EXACT, (k, ws) -> k.avgPool2d(ws, x, 3, 2));
            }
            Tensor a = t.randnNhwc(2, 5, 4, 3), b = t.randn(2, 3, 4, 3);
            assertMatches("concat nhwc + nchw", 0, (k, ws) -> k.concat(ws, a, b));
            Tensor ta = t.randn(2, 7, 6), tb = t.randnPadded(2, 4, 6);
            assertMatches("concat tokens", 0, (k, ws) -> k.concat(ws, ta, tb));
        }
    }
}
