package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Tensor;

import java.util.Arrays;

/**
 * Geometry of an N-d convolution or transposed convolution (torch's {@code nn.ConvNd} / {@code nn.ConvTransposeNd}
 * with symmetric padding, no dilation, no output padding), for 2 or 3 spatial dimensions. 2-D convolutions of the
 * diffusion UNets keep using {@link Conv2dSpec}; this one serves volumes and transposed convolutions.
 *
 * @param inChannels  input channels
 * @param outChannels output channels
 * @param kernel      kernel size per spatial dimension ({@code [kh, kw]} or {@code [kd, kh, kw]})
 * @param stride      stride per spatial dimension
 * @param padding     zeros added on both sides, per spatial dimension (transposed: removed from both sides)
 * @param groups      channel groups (1 = dense)
 * @param transposed  whether this is a transposed convolution (weight {@code [in, out/groups, k...]})
 */
public record ConvSpec(int inChannels, int outChannels, int[] kernel, int[] stride, int[] padding, int groups, boolean transposed) {
    public ConvSpec {
        kernel = kernel.clone();
        stride = stride.clone();
        padding = padding.clone();
        int r = kernel.length;
        boolean ok = (r == 2 || r == 3) && stride.length == r && padding.length == r && inChannels > 0 && outChannels > 0 && groups > 0;
        for (int i = 0; ok && i < r; i++) ok = kernel[i] > 0 && stride[i] > 0 && padding[i] >= 0;
        if (!ok) throw new IllegalArgumentException("invalid convolution " + describe(inChannels, outChannels, kernel, stride, padding, groups, transposed));
        if (inChannels % groups != 0 || outChannels % groups != 0) {
            throw new IllegalArgumentException("channels " + inChannels + "->" + outChannels + " not divisible by groups " + groups);
        }
    }

    /** A convolution with the same kernel, stride and padding in every spatial dimension. */
    public static ConvSpec of(int spatialDims, int in, int out, int kernel, int stride, int padding) {
        int[] k = new int[spatialDims], s = new int[spatialDims], p = new int[spatialDims];
        Arrays.fill(k, kernel);
        Arrays.fill(s, stride);
        Arrays.fill(p, padding);
        return new ConvSpec(in, out, k, s, p, 1, false);
    }

    /** Number of spatial dimensions (2 or 3). */
    public int spatialDims() {
        return kernel.length;
    }

    @Override
    public int[] kernel() {
        return kernel.clone();
    }

    @Override
    public int[] stride() {
        return stride.clone();
    }

    @Override
    public int[] padding() {
        return padding.clone();
    }

    /** Output size along spatial dimension {@code d} for input size {@code in} (may be non-positive: too small). */
    public long outSize(int d, long in) {
        return transposed ? (in - 1) * stride[d] - 2L * padding[d] + kernel[d] : (in + 2L * padding[d] - kernel[d]) / stride[d] + 1;
    }

    /** Weight shape: {@code [out, in/groups, k...]}, or {@code [in, out/groups, k...]} when transposed. */
    public long[] weightShape() {
        long[] s = new long[2 + kernel.length];
        s[0] = transposed ? inChannels : outChannels;
        s[1] = transposed ? outChannels / groups : inChannels / groups;
        for (int i = 0; i < kernel.length; i++) s[2 + i] = kernel[i];
        return s;
    }

    /** The output shape for an input {@code [N, in, spatial...]}; throws naming both when the input does not fit. */
    public long[] outShape(long[] inShape) {
        if (inShape.length != 2 + kernel.length || inShape[1] != inChannels) {
            throw new IllegalArgumentException("conv " + this + ": input " + Arrays.toString(inShape) + " is not [N, " + inChannels
                    + (kernel.length == 3 ? ", D, H, W]" : ", H, W]"));
        }
        long[] o = inShape.clone();
        o[1] = outChannels;
        for (int d = 0; d < kernel.length; d++) {
            o[2 + d] = outSize(d, inShape[2 + d]);
            if (o[2 + d] <= 0) throw new IllegalArgumentException("conv " + this + ": input " + Arrays.toString(inShape) + " smaller than the kernel");
        }
        return o;
    }

    /** Multiply-accumulates of one call on an input of {@code inShape}. */
    public long macs(long[] inShape) {
        long k = 1;
        for (int v : kernel) k *= v;
        return transposed
                ? Tensor.numel(inShape) * (outChannels / groups) * k
                : Tensor.numel(outShape(inShape)) * (inChannels / groups) * k;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ConvSpec c && c.inChannels == inChannels && c.outChannels == outChannels && c.groups == groups
                && c.transposed == transposed && Arrays.equals(c.kernel, kernel) && Arrays.equals(c.stride, stride) && Arrays.equals(c.padding, padding);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(new int[]{inChannels, outChannels, groups, transposed ? 1 : 0, Arrays.hashCode(kernel), Arrays.hashCode(stride), Arrays.hashCode(padding)});
    }

    @Override
    public String toString() {
        return describe(inChannels, outChannels, kernel, stride, padding, groups, transposed);
    }

    private static String describe(int in, int out, int[] k, int[] s, int[] p, int g, boolean t) {
        return (t ? "ConvTranspose" : "Conv") + (k == null ? "?" : k.length) + "d(" + in + "->" + out + ", k" + Arrays.toString(k)
                + " s" + Arrays.toString(s) + " p" + Arrays.toString(p) + (g != 1 ? " groups " + g : "") + ")";
    }
}
