package dev.unet4j.vae;

import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.ParameterSource;

import java.util.Arrays;
import java.util.Set;

/**
 * Single-file (LDM) checkpoints store the VAE mid-block attention's q/k/v/proj_out as 1x1 convolutions
 * ({@code [C, C, 1, 1]}) where diffusers has linears ({@code [C, C]}); diffusers squeezes them on load, and so does
 * this source. Every other tensor passes through unchanged, so a real mis-shape is still reported.
 */
final class ConvShapedLinears implements ParameterSource {
    private final ParameterSource source;

    ConvShapedLinears(ParameterSource source) {
        this.source = source;
    }

    @Override
    public Tensor load(String name, long[] expectedShape) {
        Tensor t = source.load(name, expectedShape);
        if (t == null || expectedShape.length != 2 || !isConvShaped(t.shape(), expectedShape)) return t;
        Tensor c = t.isContiguous() ? t : t.copy(Allocator.direct());
        if (c != t) t.close();
        return c.moveTo(expectedShape.clone(), Tensor.rowMajorStrides(expectedShape), c.offset());
    }

    private static boolean isConvShaped(long[] found, long[] linear) {
        return found.length == 4 && found[2] == 1 && found[3] == 1 && Arrays.equals(new long[]{found[0], found[1]}, linear);
    }

    @Override
    public Set<String> names() {
        return source.names();
    }

    @Override
    public long[] shapeOf(String name) {
        return source.shapeOf(name);
    }
}
