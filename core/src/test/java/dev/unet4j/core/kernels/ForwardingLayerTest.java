package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.unet4j.core.kernels.ReferenceTestSupport.K;
import static dev.unet4j.core.kernels.ReferenceTestSupport.run;
import static dev.unet4j.core.kernels.ReferenceTestSupport.s;
import static dev.unet4j.core.kernels.ReferenceTestSupport.t;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A wrapper keeps the wrapped layer's shape, runs its call around the wrapped one, and closes the wrapped layer. */
class ForwardingLayerTest {

    /**
     * 1x1 convolution, weights [[1, 2], [3, -1]], bias [0.5, 0]: on x = [1, 2] (two channels, one pixel)
     * y = [1 + 4 + 0.5, 3 - 2] = [5.5, 1]; the wrapper doubles the output scale, so [11, 2].
     */
    @Test
    void conv2dWrapperKeepsSpecRunsItsCallAndClosesTheInnerLayer() {
        Conv2dSpec spec = Conv2dSpec.of(2, 2, 1, 1, 0);
        List<String> seen = new ArrayList<>();
        try (Tensor w = t(new float[]{1, 2, 3, -1}, spec.weightShape()); Tensor b = t(new float[]{0.5f, 0}, 2);
             Tensor x = t(new float[]{1, 2}, 1, 2, 1, 1)) {
            Conv2d inner = K.conv2d(spec, w, b);
            Conv2d wrapped = ForwardingLayer.conv2d(inner, (ws, in, residual, scale) -> {
                seen.add("conv");
                return inner.forward(ws, in, residual, 2 * scale);
            });
            assertEquals(spec, wrapped.spec());
            assertArrayEquals(new float[]{11, 2}, run(s(1, 2, 1, 1), ws -> wrapped.forward(ws, x)), 0f);
            assertEquals(List.of("conv"), seen);
            wrapped.close();
            assertThrows(IllegalStateException.class, () -> run(s(1, 2, 1, 1), ws -> inner.forward(ws, x)));
        }
    }

    /** Linear [[2, 0, 1]] (3 -> 1), no bias, on x = [1, 2, 3]: 2 + 3 = 5; a plain forwarding subclass changes nothing. */
    @Test
    void linearWrapperKeepsFeaturesAndForwardsByDefault() {
        final class Plain extends ForwardingLayer<Linear> implements ForwardingLayer.OfLinear {
            Plain(Linear inner) {
                super(inner);
            }
        }
        try (Tensor w = t(new float[]{2, 0, 1}, 1, 3); Tensor x = t(new float[]{1, 2, 3}, 1, 3)) {
            Linear inner = K.linear(w, null);
            Linear wrapped = new Plain(inner);
            assertEquals(3, wrapped.inFeatures());
            assertEquals(1, wrapped.outFeatures());
            assertArrayEquals(new float[]{5}, run(s(1, 1), ws -> wrapped.forward(ws, x)), 0f);
            wrapped.close();
            assertThrows(IllegalStateException.class, () -> run(s(1, 1), ws -> inner.forward(ws, x)));
        }
    }
}
