package dev.unet4j.core.kernels;

import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.unet4j.core.kernels.DnnlTestSupport.DNNL;
import static dev.unet4j.core.kernels.DnnlTestSupport.EXACT;
import static dev.unet4j.core.kernels.DnnlTestSupport.REF;
import static dev.unet4j.core.kernels.DnnlTestSupport.assertMatches;
import static dev.unet4j.core.kernels.DnnlTestSupport.relError;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Prepared and call-time convolutions and linears on oneDNN against the reference loops. */
class DnnlConvLinearTest {

    /**
     * Odd sizes, stride 2, asymmetric padding (diffusers' downsample_padding=0), dilation, groups (small groups run as a
     * dense block-diagonal convolution: 2 -> 3 channels per group, and MK-UNet's gate, 2 -> 1), 1x1, depthwise.
     */
    static final List<Conv2dSpec> SPECS = List.of(
            Conv2dSpec.of(5, 7, 3, 1, 1),
            new Conv2dSpec(6, 8, 3, 3, 2, 2, 0, 1, 0, 1, 1, 1, 1),
            new Conv2dSpec(4, 6, 3, 2, 1, 1, 2, 1, 1, 0, 2, 3, 1),
            new Conv2dSpec(8, 12, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 4),
            new Conv2dSpec(16, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8),
            Conv2dSpec.of(9, 3, 1, 1, 0),
            new Conv2dSpec(6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 6));

    @Test
    void preparedConvMatchesReferenceOnAllLayoutsWithFusedResidualAndScale() {
        try (var t = new DnnlTestSupport.Tensors(11)) {
            for (Conv2dSpec spec : SPECS) {
                Tensor w = t.randn(spec.weightShape());
                for (Tensor bias : new Tensor[]{null, t.randn(spec.outChannels())}) {
                    try (Conv2d d = DNNL.conv2d(spec, w, bias); Conv2d r = REF.conv2d(spec, w, bias)) {
                        for (Tensor x : new Tensor[]{t.randn(2, spec.inChannels(), 9, 11), t.randnNhwc(2, spec.inChannels(), 9, 11),
                                t.randn(1, spec.inChannels(), 6, 5).permute(0, 1, 3, 2)}) {
                            long[] o = {x.dim(0), spec.outChannels(), spec.outH(x.dim(2)), spec.outW(x.dim(3))};
                            Tensor res = t.randnNhwc(o[0], o[1], o[2], o[3]);
                            Tensor resRowMajor = t.randn(o);
                            String what = spec + " bias " + (bias != null) + " x " + x;
                            compare(what, d, r, x, null, 1f);
                            compare(what + " + residual / 0.7", d, r, x, res, 1f / 0.7f);
                            compare(what + " + row-major residual", d, r, x, resRowMajor, 1f);
                            compare(what + " * 2", d, r, x, null, 2f);
                            assertMatches("call-time " + what, EXACT, (k, ws) -> k.conv2d(ws, spec, x, w, bias, res, 0.5f));
                        }
                    }
                }
            }
        }
    }

    /** Weights of 8 MB or more on at most 512 output pixels: oneDNN runs the conv as im2col + one matmul. */
    @Test
    void largeWeightsOnFewPixelsMatchReference() {
        try (var t = new DnnlTestSupport.Tensors(12)) {
            for (Conv2dSpec spec : List.of(Conv2dSpec.of(512, 512, 3, 1, 1),
                    new Conv2dSpec(512, 512, 3, 3, 2, 2, 0, 1, 0, 1, 1, 1, 1),
                    new Conv2dSpec(600, 600, 3, 2, 1, 1, 2, 1, 1, 0, 2, 3, 1))) {
                Tensor w = t.randn(spec.weightShape()), bias = t.randn(spec.outChannels());
                try (Conv2d d = DNNL.conv2d(spec, w, bias); Conv2d r = REF.conv2d(spec, w, bias)) {
                    for (Tensor x : new Tensor[]{t.randnNhwc(2, spec.inChannels(), 5, 6), t.randn(1, spec.inChannels(), 7, 4)}) {
                        long[] o = {x.dim(0), spec.outChannels(), spec.outH(x.dim(2)), spec.outW(x.dim(3))};
                        String what = spec + " x " + x;
                        compare(what, d, r, x, null, 1f);
                        compare(what + " + residual / 0.7", d, r, x, t.randnNhwc(o[0], o[1], o[2], o[3]), 1f / 0.7f);
                    }
                }
            }
        }
    }

    /**
     * A layer first run on few pixels (matmul form: the convolution's packed weights are evicted so the layer keeps
     * one copy) and then on many (convolution form: the weights are restored from the matmul copy) stays exact both
     * ways, in either order.
     */
    @Test
    void largeWeightsSwitchingBetweenMatmulAndConvolutionForms() {
        try (var t = new DnnlTestSupport.Tensors(13)) {
            Conv2dSpec spec = Conv2dSpec.of(512, 512, 3, 1, 1); // 9.4 MB of weights
            Tensor w = t.randn(spec.weightShape()), bias = t.randn(spec.outChannels());
            Tensor few = t.randnNhwc(1, 512, 4, 4), many = t.randnNhwc(1, 512, 24, 24); // 16 and 576 output pixels
            try (Conv2d d = DNNL.conv2d(spec, w, bias); Conv2d r = REF.conv2d(spec, w, bias)) {
                compare("few pixels first (matmul form)", d, r, few, null, 1f);
                compare("then many pixels (convolution form, restored weights)", d, r, many, null, 1f);
                compare("few pixels again", d, r, few, null, 1f);
            }
            try (Conv2d d = DNNL.conv2d(spec, w, bias); Conv2d r = REF.conv2d(spec, w, bias)) {
                compare("many pixels first (convolution form)", d, r, many, null, 1f);
                compare("then few pixels (matmul form, convolution copy kept)", d, r, few, null, 1f);
                compare("many pixels again", d, r, many, null, 1f);
            }
        }
    }

    /**
     * Convolutions with 1-4 output channels over at least 1024 output pixels run taken apart at their kernel taps
     * (1x1 onto the taps, depthwise shift, 1x1 sum): strides, asymmetric padding, dilation, bias, residual and scale.
     */
    @Test
    void fewOutputChannelsOnManyPixelsMatchReference() {
        try (var t = new DnnlTestSupport.Tensors(14)) {
            for (Conv2dSpec spec : List.of(Conv2dSpec.of(32, 1, 3, 1, 1), Conv2dSpec.of(16, 3, 3, 1, 1), Conv2dSpec.of(24, 4, 3, 1, 1),
                    new Conv2dSpec(8, 2, 3, 2, 2, 1, 1, 0, 2, 1, 1, 2, 1), Conv2dSpec.of(8, 4, 5, 1, 2))) {
                Tensor w = t.randn(spec.weightShape());
                for (Tensor bias : new Tensor[]{null, t.randn(spec.outChannels())}) {
                    try (Conv2d d = DNNL.conv2d(spec, w, bias); Conv2d r = REF.conv2d(spec, w, bias)) {
                        for (Tensor x : new Tensor[]{t.randnNhwc(8, spec.inChannels(), 17, 19), t.randn(5, spec.inChannels(), 16, 16),
                                t.randn(1, spec.inChannels(), 5, 6)}) {     // the last: too few pixels, direct convolution
                            long[] o = {x.dim(0), spec.outChannels(), spec.outH(x.dim(2)), spec.outW(x.dim(3))};
                            String what = spec + " bias " + (bias != null) + " x " + x;
                            compare(what, d, r, x, null, 1f);
                            compare(what + " + residual / 0.7", d, r, x, t.randnNhwc(o[0], o[1], o[2], o[3]), 1f / 0.7f);
                            compare(what + " + row-major residual * 2", d, r, x, t.randn(o), 2f);
                        }
                    }
                }
            }
        }
    }

    private static void compare(String what, Conv2d dnnl, Conv2d ref, Tensor x, Tensor residual, float scale) {
        float[] want, got;
        try (Workspace ws = REF.newWorkspace(Allocator.direct()); Tensor y = ref.forward(ws, x, residual, scale)) {
            want = y.toFloatArray();
        }
        try (Workspace ws = DNNL.newWorkspace(Allocator.direct()); Tensor y = dnnl.forward(ws, x, residual, scale)) {
            assertTrue(y.isChannelsLast(), what + ": oneDNN conv output is channels-last");
            got = y.toFloatArray();
        }
        double err = relError(want, got);
        assertTrue(err <= EXACT, what + ": relative error " + err);
    }

    @Test
    void preparedAndCallTimeLinearOverLeadingDimensions() {
        try (var t = new DnnlTestSupport.Tensors(12)) {
            for (int[] io : new int[][]{{13, 7}, {32, 48}, {1, 5}}) {
                Tensor w = t.randn(io[1], io[0]);
                for (Tensor bias : new Tensor[]{null, t.randn(io[1])}) {
                    try (Linear d = DNNL.linear(w, bias); Linear r = REF.linear(w, bias)) {
                        for (Tensor x : new Tensor[]{t.randn(2, 9, io[0]), t.randn(5, io[0]), t.randnPadded(3, 4, io[0]),
                                t.randn(io[0], 6).permute(1, 0)}) {
                            long[] o = x.shape();
                            o[o.length - 1] = io[1];
                            Tensor res = t.randn(o);
                            String what = "linear " + w + " bias " + (bias != null) + " x " + x;
                            for (float scale : new float[]{1f, 0.25f}) {
                                for (Tensor residual : new Tensor[]{null, res}) {
                                    float[] want, got;
                                    try (Workspace ws = REF.newWorkspace(Allocator.direct()); Tensor y = r.forward(ws, x, residual, scale)) {
                                        want = y.toFloatArray();
                                    }
                                    try (Workspace ws = DNNL.newWorkspace(Allocator.direct()); Tensor y = d.forward(ws, x, residual, scale)) {
                                        got = y.toFloatArray();
                                    }
                                    double err = relError(want, got);
                                    assertTrue(err <= EXACT, what + " residual " + (residual != null) + " scale " + scale + ": " + err);
                                    assertMatches("call-time " + what, EXACT, (k, ws) -> k.linear(ws, x, w, bias, residual, scale));
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void bf16ComputeRunsWithinBf16Accuracy() {
        try (var t = new DnnlTestSupport.Tensors(13); DnnlKernels bf16 = new DnnlKernels(new DnnlKernels.Options(true))) {
            Conv2dSpec spec = Conv2dSpec.of(32, 48, 3, 1, 1);
            Tensor w = t.randn(spec.weightShape()), b = t.randn(48), x = t.randnNhwc(2, 32, 12, 10);
            Tensor lw = t.randn(64, 96), tokens = t.randn(2, 17, 96);
            float[] want, got, wantL, gotL;
            try (Workspace ws = REF.newWorkspace(Allocator.direct()); Tensor y = REF.conv2d(ws, spec, x, w, b, null, 1f);
                 Tensor yl = REF.linear(ws, tokens, lw, null, null, 1f)) {
                want = y.toFloatArray();
                wantL = yl.toFloatArray();
            }
            try (Workspace ws = bf16.newWorkspace(Allocator.direct()); Conv2d c = bf16.conv2d(spec, w, b); Tensor y = c.forward(ws, x);
                 Linear l = bf16.linear(lw, null); Tensor yl = l.forward(ws, tokens)) {
                got = y.toFloatArray();
                gotL = yl.toFloatArray();
            }
            double err = relError(want, got), errL = relError(wantL, gotL);
            assertTrue(err <= 1e-2 && errL <= 1e-2, "bf16 conv error " + err + ", linear error " + errL);
            assertTrue(err > 0, "bf16 mode is not bit-exact float32 (the option reached oneDNN)");
        }
    }

    @Test
    void shapeMismatchesAreRejectedBeforeAnyNativeCall() {
        try (var t = new DnnlTestSupport.Tensors(14); Workspace ws = DNNL.newWorkspace(Allocator.direct())) {
            Conv2dSpec spec = Conv2dSpec.of(4, 4, 3, 1, 1);
            assertThrows(IllegalArgumentException.class, () -> DNNL.conv2d(spec, t.randn(4, 3, 3, 3), null));
            try (Conv2d c = DNNL.conv2d(spec, t.randn(spec.weightShape()), null)) {
                var e = assertThrows(IllegalArgumentException.class, () -> c.forward(ws, t.randn(1, 5, 8, 8)));
                assertTrue(e.getMessage().contains("[1, 5, 8, 8]"), e.getMessage());
            }
            try (Linear l = DNNL.linear(t.randn(3, 4), null)) {
                assertThrows(IllegalArgumentException.class, () -> l.forward(ws, t.randn(2, 5)));
            }
        }
    }
}
