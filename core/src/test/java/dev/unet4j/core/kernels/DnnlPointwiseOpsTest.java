package dev.unet4j.core.kernels;

import org.junit.jupiter.api.Test;

import static dev.unet4j.core.kernels.DnnlTestSupport.EXACT;
import static dev.unet4j.core.kernels.DnnlTestSupport.assertMatches;

/** Activations, softmax, GEGLU, binary ops and copies: oneDNN against the reference loops. */
class DnnlPointwiseOpsTest {

    @Test
    void activationsOnContiguousNhwcAndStridedInputs() {
        try (var t = new DnnlTestSupport.Tensors(1)) {
            var inputs = new dev.unet4j.core.tensor.Tensor[]{t.randn(2, 5, 7, 3), t.randnNhwc(2, 5, 7, 3), t.randnPadded(3, 11, 13), t.randn(4, 33)};
            for (var x : inputs) {
                assertMatches("silu " + x, EXACT, (k, ws) -> k.silu(ws, x));
                assertMatches("swish 1.702 (quick_gelu) " + x, EXACT, (k, ws) -> k.swish(ws, x, 1.702f));
                assertMatches("gelu " + x, EXACT, (k, ws) -> k.gelu(ws, x, true));
                assertMatches("gelu tanh " + x, EXACT, (k, ws) -> k.gelu(ws, x, false));
                assertMatches("scale " + x, EXACT, (k, ws) -> k.scale(ws, x, -0.37f));
                assertMatches("softmax " + x, EXACT, (k, ws) -> k.softmax(ws, x));
                assertMatches("copy " + x, 0, (k, ws) -> k.copy(ws, x));
            }
        }
    }

    @Test
    void gegluSplitsValueFirst() {
        try (var t = new DnnlTestSupport.Tensors(2)) {
            var x = t.randn(2, 9, 2 * 23);
            assertMatches("geglu", EXACT, (k, ws) -> k.geglu(ws, x));
            var strided = t.randnPadded(3, 5, 2 * 8);
            assertMatches("geglu strided", EXACT, (k, ws) -> k.geglu(ws, strided));
        }
    }

    @Test
    void binaryOpsBroadcastLikeNumpy() {
        try (var t = new DnnlTestSupport.Tensors(3)) {
            var a = t.randn(2, 6, 5, 7);
            var aNhwc = t.randnNhwc(2, 6, 5, 7);
            var same = t.randn(2, 6, 5, 7);
            var perChannel = t.randn(2, 6, 1, 1);
            var lastDim = t.randn(7);
            var rowVec = t.randn(5, 1);
            for (var x : new dev.unet4j.core.tensor.Tensor[]{a, aNhwc}) {
                for (var b : new dev.unet4j.core.tensor.Tensor[]{same, perChannel, lastDim, rowVec, aNhwc}) {
                    assertMatches("add " + x + " " + b, EXACT, (k, ws) -> k.add(ws, x, b, 1f, 1f));
                    assertMatches("add scaled " + x + " " + b, EXACT, (k, ws) -> k.add(ws, x, b, 0.5f, -2f));
                    assertMatches("mul " + x + " " + b, EXACT, (k, ws) -> k.mul(ws, x, b));
                }
            }
            var tokens = t.randnPadded(2, 9, 12);
            var bias = t.randn(12);
            assertMatches("add strided tokens", EXACT, (k, ws) -> k.add(ws, tokens, bias, 1f, 1f));
        }
    }

    @Test
    void scaleShiftIsXTimesOnePlusScalePlusShift() {
        try (var t = new DnnlTestSupport.Tensors(4)) {
            var scale = t.randn(2, 6);
            var shift = t.randn(2, 6);
            for (var x : new dev.unet4j.core.tensor.Tensor[]{t.randn(2, 6, 5, 3), t.randnNhwc(2, 6, 5, 3)}) {
                assertMatches("scaleShift " + x, EXACT, (k, ws) -> k.scaleShift(ws, x, scale, shift));
            }
        }
    }
}
