package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The reference statements of the segmentation-UNet operations against independent truths: values worked out by hand
 * from torch's definitions, the existing 2-D convolution, and the adjoint identity of a transposed convolution.
 */
class ReferenceSegmentationOpsTest {
    private static final ReferenceKernels K = new ReferenceKernels();

    private static float[] run(java.util.function.Function<Workspace, Tensor> op) {
        try (Workspace ws = K.newWorkspace(Allocator.direct()); Tensor y = op.apply(ws)) {
            return y.toFloatArray();
        }
    }

    private static float[] random(long seed, int n) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    /** torch: F.interpolate(arange(1,5).view(1,1,1,4), size=(1,8) / (1,5), mode='bilinear', align_corners=False). */
    @Test
    void linearResizeFollowsTorchsAlignCornersFalseRule() {
        try (Tensor x = Tensor.of(new float[]{1, 2, 3, 4}, 1, 1, 1, 4)) {
            assertArrayEquals(new float[]{1f, 1.25f, 1.75f, 2.25f, 2.75f, 3.25f, 3.75f, 4f}, run(ws -> K.resizeLinear(ws, x, 1, 8)), 1e-6f);
            // scale 4/5: sources max(0, -0.1), 0.7, 1.5, 2.3, 3.1 (the last clamps its upper neighbour)
            assertArrayEquals(new float[]{1f, 1.7f, 2.5f, 3.3f, 4f}, run(ws -> K.resizeLinear(ws, x, 1, 5)), 1e-6f);
        }
        // trilinear on a 2x2x2 cube of 0..7 to 4x4x4: corner stays, the centre is the mean of all eight
        float[] cube = {0, 1, 2, 3, 4, 5, 6, 7};
        try (Tensor v = Tensor.of(cube, 1, 1, 2, 2, 2)) {
            float[] y = run(ws -> K.resizeLinear(ws, v, 4, 4, 4));
            assertEquals(0f, y[0], 0f);
            assertEquals(7f, y[63], 0f);
            // index (1,1,1): source 0.25 on every axis -> 0.25*4 + 0.25*2 + 0.25*1 = 1.75
            assertEquals(1.75f, y[16 + 4 + 1], 1e-6f);
        }
    }

    @Test
    void poolingAndReductionsByHand() {
        float[] m = {1, 5, 2, 0, 9,
                3, 4, 8, 1, 9,
                7, 7, 7, 7, 9}; // [1, 1, 3, 5]: floor mode drops the last row and column
        try (Tensor x = Tensor.of(m, 1, 1, 3, 5)) {
            assertArrayEquals(new float[]{5, 8}, run(ws -> K.pool(ws, x, true, new int[]{2, 2}, new int[]{2, 2})), 0f);
            assertArrayEquals(new float[]{13 / 4f, 11 / 4f}, run(ws -> K.pool(ws, x, false, new int[]{2, 2}, new int[]{2, 2})), 1e-6f);
            assertArrayEquals(new float[]{9}, run(ws -> K.reduce(ws, x, true, 2, 3)), 0f);
            assertArrayEquals(new float[]{79 / 15f}, run(ws -> K.reduce(ws, x, false, 2, 3)), 1e-6f);
            assertArrayEquals(new float[]{11 / 3f, 16 / 3f, 17 / 3f, 8 / 3f, 9}, run(ws -> K.reduce(ws, x, false, 2)), 1e-6f);
        }
        try (Tensor c = Tensor.of(new float[]{1, -2, 3, 4, 5, -6}, 1, 3, 1, 2)) { // channels (1,-2), (3,4), (5,-6)
            assertArrayEquals(new float[]{3, -4 / 3f}, run(ws -> K.reduce(ws, c, false, 1)), 1e-6f);
            assertArrayEquals(new float[]{5, 4}, run(ws -> K.reduce(ws, c, true, 1)), 0f);
        }
    }

    @Test
    void batchNormAndActivationsByHand() {
        try (Tensor x = Tensor.of(new float[]{1, 3, -2, 6}, 1, 2, 1, 2);
             Tensor mean = Tensor.of(new float[]{1, 2}, 2); Tensor var = Tensor.of(new float[]{4, 16}, 2);
             Tensor g = Tensor.of(new float[]{2, 1}, 2); Tensor b = Tensor.of(new float[]{0, 1}, 2)) {
            // (x - mean) / sqrt(var) * g + b with eps 0: channel 0 (1, 3) -> (0, 1) * 2; channel 1 (-2, 6) -> (-1, 1) + 1
            assertArrayEquals(new float[]{0, 2, 0, 2}, run(ws -> K.batchNorm(ws, x, mean, var, g, b, 0f)), 1e-6f);
            assertArrayEquals(new float[]{1, 3, -0.02f, 6}, run(ws -> K.leakyRelu(ws, x, 0.01f)), 1e-7f);
            assertArrayEquals(new float[]{1, 3, 0, 6}, run(ws -> K.leakyRelu(ws, x, 0f)), 0f);
            assertArrayEquals(new float[]{1, 2.5f, 0, 2.5f}, run(ws -> K.clamp(ws, x, 0f, 2.5f)), 0f);
            assertArrayEquals(new float[]{0.7310586f, 0.95257413f, 0.11920292f, 0.9975274f}, run(ws -> K.sigmoid(ws, x)), 1e-7f);
        }
    }

    /** A 2-D problem through the N-d convolution equals the existing 2-D convolution (grouped, strided, padded). */
    @Test
    void ndConvolutionAgreesWithTheTwoDimensionalOne() {
        ConvSpec spec = new ConvSpec(6, 4, new int[]{3, 5}, new int[]{2, 1}, new int[]{1, 2}, 2, false);
        Conv2dSpec c2 = new Conv2dSpec(6, 4, 3, 5, 2, 1, 1, 1, 2, 2, 1, 1, 2);
        try (Tensor x = Tensor.of(random(1, 2 * 6 * 7 * 9), 2, 6, 7, 9); Tensor w = Tensor.of(random(2, 4 * 3 * 3 * 5), 4, 3, 3, 5);
             Tensor b = Tensor.of(random(3, 4), 4); ConvLayer nd = K.conv(spec, w, b); Conv2d two = K.conv2d(c2, w, b)) {
            assertArrayEquals(run(ws -> two.forward(ws, x)), run(ws -> nd.forward(ws, x)), 1e-5f);
            // the same weights as a volume of depth 1 with a 1-deep kernel
            ConvSpec s3 = new ConvSpec(6, 4, new int[]{1, 3, 5}, new int[]{1, 2, 1}, new int[]{0, 1, 2}, 2, false);
            try (Tensor x3 = Tensor.of(x.toFloatArray(), 2, 6, 1, 7, 9); Tensor w3 = Tensor.of(w.toFloatArray(), 4, 3, 1, 3, 5);
                 ConvLayer l3 = K.conv(s3, w3, b)) {
                assertArrayEquals(run(ws -> two.forward(ws, x)), run(ws -> l3.forward(ws, x3)), 1e-5f);
            }
        }
    }

    /**
     * A transposed convolution is the adjoint of the convolution with the same weights:
     * {@code <conv(x), y> = <x, convT(y)>} for every x, y (bias-free), here 2-D grouped and 3-D.
     */
    @Test
    void transposedConvolutionIsTheAdjointOfTheConvolution() {
        adjoint(new ConvSpec(4, 6, new int[]{3, 3}, new int[]{2, 2}, new int[]{1, 1}, 2, false), new long[]{2, 4, 9, 7});
        adjoint(new ConvSpec(3, 2, new int[]{2, 2, 2}, new int[]{2, 2, 2}, new int[3], 1, false), new long[]{1, 3, 4, 6, 2});
    }

    private static void adjoint(ConvSpec conv, long[] xShape) {
        ConvSpec t = new ConvSpec(conv.outChannels(), conv.inChannels(), conv.kernel(), conv.stride(), conv.padding(), conv.groups(), true);
        long[] yShape = conv.outShape(xShape);
        assertArrayEquals(xShape, t.outShape(yShape), "sizes chosen so the transposed conv returns x's shape");
        try (Tensor x = Tensor.of(random(5, (int) Tensor.numel(xShape)), xShape); Tensor y = Tensor.of(random(6, (int) Tensor.numel(yShape)), yShape);
             Tensor w = Tensor.of(random(7, (int) Tensor.numel(conv.weightShape())), conv.weightShape());
             ConvLayer c = K.conv(conv, w, null); ConvLayer ct = K.conv(t, w, null)) {
            float[] cx = run(ws -> c.forward(ws, x)), cty = run(ws -> ct.forward(ws, y));
            double lhs = dot(cx, y.toFloatArray()), rhs = dot(x.toFloatArray(), cty);
            assertEquals(lhs, rhs, 1e-4 * Math.max(1, Math.abs(lhs)), conv + ": <conv x, y> vs <x, convT y>");
        }
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (double) a[i] * b[i];
        return s;
    }

    @Test
    void badShapesAreRefusedWithTheirNames() {
        ConvSpec spec = ConvSpec.of(3, 2, 4, 3, 1, 1);
        try (Tensor w = Tensor.zeros(4, 2, 3, 3, 3); Tensor x = Tensor.zeros(1, 3, 4, 4, 4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> K.conv(spec, Tensor.zeros(4, 2, 3, 3), null));
            assertEquals(true, e.getMessage().contains("weight"), e.getMessage());
            try (ConvLayer l = K.conv(spec, w, null)) {
                IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class, () -> run(ws -> l.forward(ws, x)));
                assertEquals(true, e2.getMessage().contains("[1, 3, 4, 4, 4]"), e2.getMessage());
            }
        }
        try (Tensor x = Tensor.zeros(1, 2, 3, 3)) {
            assertThrows(IllegalArgumentException.class, () -> run(ws -> K.pool(ws, x, true, new int[]{4, 4}, new int[]{1, 1})));
            assertThrows(IllegalArgumentException.class, () -> run(ws -> K.resizeLinear(ws, x, 4)));
            assertThrows(IllegalArgumentException.class, () -> run(ws -> K.reduce(ws, x, true, 4)));
            assertThrows(IllegalArgumentException.class, () -> run(ws -> K.clamp(ws, x, 1f, 0f)));
        }
    }
}
