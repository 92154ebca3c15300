package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static dev.unet4j.core.kernels.DnnlTestSupport.EXACT;
import static dev.unet4j.core.kernels.DnnlTestSupport.assertMatches;

/**
 * The segmentation-UNet operations (N-d and transposed convolution, inference BatchNorm, ReLU/LeakyReLU/clamp/sigmoid,
 * pooling, reductions, linear resizing) on oneDNN against the plain-Java reference, over 2-D maps in both layouts,
 * strided views and 3-D volumes, including odd sizes.
 */
class DnnlSegmentationOpsTest {

    private static void conv(String what, ConvSpec spec, long... inShape) {
        try (DnnlTestSupport.Tensors t = new DnnlTestSupport.Tensors(spec.hashCode())) {
            Tensor x = t.randn(inShape), w = t.randn(spec.weightShape()), b = t.randn(spec.outChannels());
            assertMatches(what, EXACT, (k, ws) -> {
                try (ConvLayer l = k.conv(spec, w, b)) {
                    return l.forward(ws, x);
                }
            });
        }
    }

    @Test
    void convolutionsOfEveryKindMatchTheReference() {
        conv("conv3d k3 p1", ConvSpec.of(3, 2, 4, 3, 1, 1), 2, 2, 5, 6, 7);
        conv("conv3d k1", ConvSpec.of(3, 4, 3, 1, 1, 0), 1, 4, 3, 4, 5);
        conv("conv3d k3 s2 no pad", ConvSpec.of(3, 3, 5, 3, 2, 0), 1, 3, 7, 8, 9);
        conv("conv2d grouped", new ConvSpec(8, 4, new int[]{3, 3}, new int[]{1, 1}, new int[]{1, 1}, 4, false), 2, 8, 9, 10);
        conv("conv2d depth-wise 5x5", new ConvSpec(6, 6, new int[]{5, 5}, new int[]{1, 1}, new int[]{2, 2}, 6, false), 2, 6, 8, 12);
        conv("convT2d k2 s2", new ConvSpec(8, 4, new int[]{2, 2}, new int[]{2, 2}, new int[]{0, 0}, 1, true), 2, 8, 3, 5);
        conv("convT2d k3 s2 p1 non-square stride", new ConvSpec(4, 6, new int[]{3, 2}, new int[]{2, 1}, new int[]{1, 0}, 1, true), 1, 4, 4, 5);
        conv("convT2d grouped", new ConvSpec(4, 6, new int[]{2, 2}, new int[]{2, 2}, new int[]{0, 0}, 2, true), 1, 4, 3, 3);
        conv("convT3d k2 s2", new ConvSpec(4, 2, new int[]{2, 2, 2}, new int[]{2, 2, 2}, new int[3], 1, true), 2, 4, 2, 3, 4);
    }

    @Test
    void convolutionReadsChannelsLastAndStridedInputs() {
        ConvSpec spec = ConvSpec.of(2, 3, 5, 3, 1, 1);
        try (DnnlTestSupport.Tensors t = new DnnlTestSupport.Tensors(7)) {
            Tensor nhwc = t.randnNhwc(2, 3, 6, 7), padded = t.randnPadded(2, 3, 6, 7), w = t.randn(spec.weightShape());
            for (Tensor x : new Tensor[]{nhwc, padded}) {
                assertMatches("conv2d on " + x, EXACT, (k, ws) -> {
                    try (ConvLayer l = k.conv(spec, w, null)) {
                        return l.forward(ws, x);
                    }
                });
            }
        }
    }

    @Test
    void batchNormAndActivationsMatchTheReference() {
        try (DnnlTestSupport.Tensors t = new DnnlTestSupport.Tensors(11)) {
            Tensor mean = t.randn(5), gamma = t.randn(5), beta = t.randn(5);
            Tensor var = t.keep(Tensor.of(new float[]{0.5f, 1f, 2f, 0.1f, 3f}, 5));
            for (Tensor x : new Tensor[]{t.randn(2, 5, 6, 7), t.randnNhwc(2, 5, 6, 7), t.randnPadded(2, 5, 6, 7), t.randn(2, 5, 3, 4, 5)}) {
                assertMatches("batchNorm " + x, EXACT, (k, ws) -> k.batchNorm(ws, x, mean, var, gamma, beta, 1e-5f));
                assertMatches("batchNorm no affine " + x, EXACT, (k, ws) -> k.batchNorm(ws, x, mean, var, null, null, 1e-3f));
                assertMatches("relu " + x, 0, (k, ws) -> k.leakyRelu(ws, x, 0f));
                assertMatches("leakyRelu " + x, EXACT, (k, ws) -> k.leakyRelu(ws, x, 0.01f));
                assertMatches("relu6 " + x, 0, (k, ws) -> k.clamp(ws, x, 0f, 6f));
                assertMatches("clamp " + x, 0, (k, ws) -> k.clamp(ws, x, -0.5f, 0.25f));
                assertMatches("sigmoid " + x, EXACT, (k, ws) -> k.sigmoid(ws, x));
            }
        }
    }

    @Test
    void poolingReductionAndResizingMatchTheReference() {
        try (DnnlTestSupport.Tensors t = new DnnlTestSupport.Tensors(13)) {
            for (Tensor x : new Tensor[]{t.randn(2, 3, 9, 10), t.randnNhwc(2, 3, 8, 11), t.randnPadded(1, 4, 7, 6)}) {
                assertMatches("maxPool2 " + x, 0, (k, ws) -> k.pool(ws, x, true, new int[]{2, 2}, new int[]{2, 2}));
                assertMatches("avgPool2 " + x, EXACT, (k, ws) -> k.pool(ws, x, false, new int[]{2, 2}, new int[]{2, 2}));
                assertMatches("maxPool 3x2 s(2,1) " + x, 0, (k, ws) -> k.pool(ws, x, true, new int[]{3, 2}, new int[]{2, 1}));
                assertMatches("mean over C " + x, EXACT, (k, ws) -> k.reduce(ws, x, false, 1));
                assertMatches("max over C " + x, 0, (k, ws) -> k.reduce(ws, x, true, 1));
                assertMatches("mean over HW " + x, EXACT, (k, ws) -> k.reduce(ws, x, false, 2, 3));
                assertMatches("max over HW " + x, 0, (k, ws) -> k.reduce(ws, x, true, 2, 3));
                assertMatches("bilinear x2 " + x, EXACT, (k, ws) -> k.resizeLinear(ws, x, 2 * x.dim(2), 2 * x.dim(3)));
                assertMatches("bilinear to 13x5 " + x, EXACT, (k, ws) -> k.resizeLinear(ws, x, 13, 5));
            }
            Tensor v = t.randn(2, 3, 5, 7, 9);
            assertMatches("avgPool3d 2 (odd sizes)", EXACT, (k, ws) -> k.pool(ws, v, false, new int[]{2, 2, 2}, new int[]{2, 2, 2}));
            assertMatches("maxPool3d 2", 0, (k, ws) -> k.pool(ws, v, true, new int[]{2, 2, 2}, new int[]{2, 2, 2}));
            assertMatches("trilinear x2", EXACT, (k, ws) -> k.resizeLinear(ws, v, 10, 14, 18));
            assertMatches("trilinear to 6x7x11 (resize to a skip)", EXACT, (k, ws) -> k.resizeLinear(ws, v, 6, 7, 11));
            assertMatches("mean over DHW", EXACT, (k, ws) -> k.reduce(ws, v, false, 2, 3, 4));
            Tensor single = t.randn(2, 1, 1, 1); // MK-UNet's channel attention at width 1: nothing to reduce
            assertMatches("max over a size-1 channel", 0, (k, ws) -> k.reduce(ws, single, true, 1));
            assertMatches("mean over 1x1", 0, (k, ws) -> k.reduce(ws, single, false, 2, 3));
        }
    }
}
