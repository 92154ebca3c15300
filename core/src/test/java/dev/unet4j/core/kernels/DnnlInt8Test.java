package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static dev.unet4j.core.kernels.DnnlTestSupport.DNNL;
import static dev.unet4j.core.kernels.DnnlTestSupport.REF;
import static dev.unet4j.core.kernels.DnnlTestSupport.channelScales;
import static dev.unet4j.core.kernels.DnnlTestSupport.dequantize;
import static dev.unet4j.core.kernels.DnnlTestSupport.int8Codes;
import static dev.unet4j.core.kernels.DnnlTestSupport.relError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The int8 layers against the float reference run on the dequantised operands (what s8 x s8 -> f32 must equal up to
 * float rounding) and, loosely, on the original activations (the quantisation error itself).
 */
class DnnlInt8Test {

    @Test
    void int8ConvMatchesReferenceOnDequantisedOperands() {
        Random r = new Random(51);
        try (var t = new DnnlTestSupport.Tensors(52)) {
            for (Conv2dSpec spec : new Conv2dSpec[]{Conv2dSpec.of(16, 24, 3, 1, 1), new Conv2dSpec(8, 12, 3, 3, 2, 2, 0, 1, 0, 1, 1, 1, 4)}) {
                long[] ws = spec.weightShape();
                byte[] q = int8Codes(r, (int) Tensor.numel(ws));
                float[] sc = channelScales(r, spec.outChannels());
                Tensor bias = t.randn(spec.outChannels()), x = t.randnNhwc(2, spec.inChannels(), 9, 7);
                long[] o = {2, spec.outChannels(), spec.outH(9), spec.outW(7)};
                Tensor res = t.randn(o);
                try (Tensor w = dequantize(q, null, sc, ws); Tensor xq = DnnlTestSupport.quantizeDequantize(x); Conv2d conv = DNNL.int8Conv2d(spec, q, sc, bias);
                     Workspace dws = DNNL.newWorkspace(Allocator.direct()); Workspace rws = REF.newWorkspace(Allocator.direct());
                     Tensor got = conv.forward(dws, x, res, 0.5f); Tensor exact = REF.conv2d(rws, spec, xq, w, bias, res, 0.5f);
                     Tensor approx = REF.conv2d(rws, spec, x, w, bias, res, 0.5f)) {
                    double err = relError(exact.toFloatArray(), got.toFloatArray());
                    double quantErr = relError(approx.toFloatArray(), got.toFloatArray());
                    assertTrue(err <= 1e-3, spec + ": int8 conv vs dequantised reference " + err);
                    assertTrue(quantErr <= 3e-2, spec + ": int8 conv vs float reference " + quantErr);
                }
            }
        }
    }

    /**
     * One layer run at a size, a smaller one, then the first again: small maps make oneDNN pick another s8 weight
     * layout than the nominal 64x64 one (seen on UNet++'s 480->480 3x3 at 4x4 and MK-UNet's 1x1s at 8x8), which
     * must be packed from the plain codes, as no reorder between two compensated layouts exists. Each output must
     * equal a fresh layer's bit for bit and the float reference within the int8 tolerances.
     */
    @Test
    void int8ConvAtChangingInputSizes() {
        Random r = new Random(57);
        Conv2dSpec[] specs = {Conv2dSpec.of(96, 192, 1, 1, 0), Conv2dSpec.of(160, 320, 1, 1, 0),
                new Conv2dSpec(256, 480, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1), Conv2dSpec.of(480, 480, 3, 1, 1)};
        int[] sizes = {16, 4, 16};
        try (var t = new DnnlTestSupport.Tensors(58); Workspace dws = DNNL.newWorkspace(Allocator.direct());
             Workspace rws = REF.newWorkspace(Allocator.direct())) {
            for (Conv2dSpec spec : specs) {
                long[] ws = spec.weightShape();
                byte[] q = int8Codes(r, (int) Tensor.numel(ws));
                float[] sc = channelScales(r, spec.outChannels());
                Tensor bias = t.randn(spec.outChannels());
                Map<Integer, Tensor> inputs = new HashMap<>(), exact = new HashMap<>(), approx = new HashMap<>();
                try (Tensor w = dequantize(q, null, sc, ws)) {
                    for (int size : new int[]{16, 4}) {
                        Tensor x = t.randnNhwc(1, spec.inChannels(), size, size);
                        inputs.put(size, x);
                        try (Tensor xq = DnnlTestSupport.quantizeDequantize(x)) {
                            exact.put(size, t.keep(REF.conv2d(rws, spec, xq, w, bias, null, 1f)));
                        }
                        approx.put(size, t.keep(REF.conv2d(rws, spec, x, w, bias, null, 1f)));
                    }
                }
                try (Conv2d conv = DNNL.int8Conv2d(spec, q, sc, bias)) {
                    for (int i = 0; i < sizes.length; i++) {
                        int size = sizes[i];
                        String what = spec + " at " + size + "x" + size + " (call " + (i + 1) + ")";
                        try (Conv2d fresh = DNNL.int8Conv2d(spec, q, sc, bias); Tensor got = conv.forward(dws, inputs.get(size));
                             Tensor alone = fresh.forward(dws, inputs.get(size))) {
                            assertArrayEquals(alone.toFloatArray(), got.toFloatArray(), what + ": differs from a fresh layer");
                            assertTrue(relError(exact.get(size).toFloatArray(), got.toFloatArray()) <= 1e-3, what + ": int8 conv vs dequantised reference");
                            assertTrue(relError(approx.get(size).toFloatArray(), got.toFloatArray()) <= 3e-2, what + ": int8 conv vs float reference");
                        }
                    }
                }
            }
        }
    }

    /** A single-value input (a channel-attention MLP of width 1 on a pooled 1x1 map) has the scale |x| / 127. */
    @Test
    void int8ConvOfASingleValue() {
        Random r = new Random(55);
        Conv2dSpec spec = Conv2dSpec.of(1, 4, 1, 1, 0);
        byte[] q = int8Codes(r, 4);
        float[] sc = channelScales(r, 4);
        try (Tensor x = Tensor.of(new float[]{-0.75f}, 1, 1, 1, 1); Tensor w = dequantize(q, null, sc, spec.weightShape());
             Conv2d conv = DNNL.int8Conv2d(spec, q, sc, null); Workspace dws = DNNL.newWorkspace(Allocator.direct());
             Workspace rws = REF.newWorkspace(Allocator.direct()); Tensor got = conv.forward(dws, x, null, 1f);
             Tensor want = REF.conv2d(rws, spec, x, w, null, null, 1f)) {
            // -0.75 quantises exactly (to -127 with scale 0.75/127), so the int8 result is the float one
            assertTrue(relError(want.toFloatArray(), got.toFloatArray()) <= 1e-6, java.util.Arrays.toString(got.toFloatArray()));
        }
    }

    @Test
    void int8LinearMatchesReferenceOnDequantisedOperands() {
        Random r = new Random(53);
        try (var t = new DnnlTestSupport.Tensors(54)) {
            int in = 40, out = 24;
            byte[] q = int8Codes(r, in * out);
            float[] sc = channelScales(r, out);
            Tensor bias = t.randn(out), x = t.randn(2, 11, in);
            try (Tensor w = dequantize(q, null, sc, out, in); Tensor xq = DnnlTestSupport.quantizeDequantize(x); Linear lin = DNNL.int8Linear(q, out, in, sc, bias);
                 Workspace dws = DNNL.newWorkspace(Allocator.direct()); Workspace rws = REF.newWorkspace(Allocator.direct());
                 Tensor got = lin.forward(dws, x); Tensor exact = REF.linear(rws, xq, w, bias, null, 1f)) {
                double err = relError(exact.toFloatArray(), got.toFloatArray());
                assertTrue(err <= 1e-3, "int8 linear vs dequantised reference " + err);
            }
        }
    }
}
