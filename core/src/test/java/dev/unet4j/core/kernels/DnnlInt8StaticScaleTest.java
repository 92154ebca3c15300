package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.unet4j.core.kernels.DnnlTestSupport.DNNL;
import static dev.unet4j.core.kernels.DnnlTestSupport.REF;
import static dev.unet4j.core.kernels.DnnlTestSupport.channelScales;
import static dev.unet4j.core.kernels.DnnlTestSupport.dequantize;
import static dev.unet4j.core.kernels.DnnlTestSupport.int8Codes;
import static dev.unet4j.core.kernels.DnnlTestSupport.relError;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The int8 layers with a static activation scale against the float reference run on the dequantised operands. The
 * scale is a power of two so {@code x * (1/scale)} is exact and the only rounding is oneDNN's round-half-even; inputs
 * reach 2.5x the representable range so the symmetric clamp ([-127, 127]) is exercised too.
 */
class DnnlInt8StaticScaleTest {
    private static final float SCALE = 1f / 32; // codes cover [-4, 3.97]

    /** {@code rint(clamp(x / SCALE, -127, 127)) * SCALE}, in {@code x}'s logical order. */
    private static Tensor fakeQuantize(Tensor x) {
        float[] v = x.toFloatArray();
        for (int i = 0; i < v.length; i++) v[i] = (float) Math.max(-127, Math.min(127, Math.rint(v[i] / SCALE))) * SCALE;
        return Tensor.of(v, x.shape());
    }

    private static Tensor wide(DnnlTestSupport.Tensors t, Tensor x) {
        float[] v = x.toFloatArray();
        for (int i = 0; i < v.length; i++) v[i] *= 3f;
        return t.keep(Tensor.of(v, x.shape()));
    }

    @Test
    void staticScaleConvEqualsReferenceOnQuantisedOperands() {
        Random r = new Random(61);
        try (var t = new DnnlTestSupport.Tensors(62)) {
            Conv2dSpec spec = Conv2dSpec.of(16, 24, 3, 1, 1);
            byte[] q = int8Codes(r, (int) Tensor.numel(spec.weightShape()));
            float[] sc = channelScales(r, spec.outChannels());
            Tensor bias = t.randn(spec.outChannels()), x = wide(t, t.randn(2, spec.inChannels(), 9, 7));
            try (Tensor w = dequantize(q, null, sc, spec.weightShape()); Tensor xq = fakeQuantize(x); Conv2d conv = DNNL.int8Conv2d(spec, q, sc, bias, SCALE);
                 Workspace dws = DNNL.newWorkspace(Allocator.direct()); Workspace rws = REF.newWorkspace(Allocator.direct());
                 Tensor got = conv.forward(dws, x); Tensor want = REF.conv2d(rws, spec, xq, w, bias, null, 1f)) {
                double err = relError(want.toFloatArray(), got.toFloatArray());
                assertTrue(err <= 1e-5, "static-scale int8 conv vs reference on quantised operands: " + err);
            }
        }
    }

    @Test
    void staticScaleLinearEqualsReferenceOnQuantisedOperands() {
        Random r = new Random(63);
        try (var t = new DnnlTestSupport.Tensors(64)) {
            int in = 40, out = 24;
            byte[] q = int8Codes(r, in * out);
            float[] sc = channelScales(r, out);
            Tensor bias = t.randn(out), x = wide(t, t.randn(2, 11, in));
            try (Tensor w = dequantize(q, null, sc, out, in); Tensor xq = fakeQuantize(x); Linear lin = DNNL.int8Linear(q, out, in, sc, bias, SCALE);
                 Workspace dws = DNNL.newWorkspace(Allocator.direct()); Workspace rws = REF.newWorkspace(Allocator.direct());
                 Tensor got = lin.forward(dws, x); Tensor want = REF.linear(rws, xq, w, bias, null, 1f)) {
                double err = relError(want.toFloatArray(), got.toFloatArray());
                assertTrue(err <= 1e-5, "static-scale int8 linear vs reference on quantised operands: " + err);
            }
        }
    }

    /**
     * Row counts far from the 1024 the weights were packed for (2 rows of a time-embedding projection, then many):
     * oneDNN prefers other s8 layouts for them and cannot reorder between two compensated layouts, so the layer
     * must keep using its packed layout.
     */
    @Test
    void int8LinearRunsOnAnyRowCount() {
        Random r = new Random(65);
        try (var t = new DnnlTestSupport.Tensors(66)) {
            int in = 128, out = 32;
            byte[] q = int8Codes(r, in * out);
            float[] sc = channelScales(r, out);
            Tensor bias = t.randn(out);
            try (Tensor w = dequantize(q, null, sc, out, in); Linear lin = DNNL.int8Linear(q, out, in, sc, bias, SCALE);
                 Workspace dws = DNNL.newWorkspace(Allocator.direct()); Workspace rws = REF.newWorkspace(Allocator.direct())) {
                for (int rows : new int[]{2, 1, 300, 2}) {
                    Tensor x = t.randn(rows, in);
                    try (Tensor xq = fakeQuantize(x); Tensor got = lin.forward(dws, x); Tensor want = REF.linear(rws, xq, w, bias, null, 1f)) {
                        double err = relError(want.toFloatArray(), got.toFloatArray());
                        assertTrue(err <= 1e-5, rows + " rows: static-scale int8 linear vs reference " + err);
                    }
                }
            }
        }
    }

    @Test
    void nonPositiveStaticScaleIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> DNNL.int8Linear(new byte[4], 2, 2, new float[]{1, 1}, null, 0f));
        assertThrows(IllegalArgumentException.class, () -> DNNL.int8Linear(new byte[4], 2, 2, new float[]{1, 1}, null, Float.NaN));
    }
}
