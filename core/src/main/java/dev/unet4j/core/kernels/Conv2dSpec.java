package dev.unet4j.core.kernels;

/**
 * Geometry of a 2-D convolution, as torch's {@code nn.Conv2d} plus asymmetric padding
 * (diffusers' {@code downsample_padding=0} pads right and bottom by one before a stride-2 conv).
 *
 * @param inChannels   input channels
 * @param outChannels  output channels
 * @param kernelH      kernel height
 * @param kernelW      kernel width
 * @param strideH      vertical stride
 * @param strideW      horizontal stride
 * @param padTop       zero rows added above
 * @param padBottom    zero rows added below
 * @param padLeft      zero columns added left
 * @param padRight     zero columns added right
 * @param dilationH    vertical dilation (1 = none)
 * @param dilationW    horizontal dilation (1 = none)
 * @param groups       channel groups (1 = dense)
 */
public record Conv2dSpec(int inChannels, int outChannels, int kernelH, int kernelW, int strideH, int strideW,
                         int padTop, int padBottom, int padLeft, int padRight, int dilationH, int dilationW, int groups) {
    public Conv2dSpec {
        if (inChannels <= 0 || outChannels <= 0 || kernelH <= 0 || kernelW <= 0 || strideH <= 0 || strideW <= 0
                || dilationH <= 0 || dilationW <= 0 || groups <= 0 || padTop < 0 || padBottom < 0 || padLeft < 0 || padRight < 0) {
            throw new IllegalArgumentException("invalid convolution " + this);
        }
        if (inChannels % groups != 0 || outChannels % groups != 0) {
            throw new IllegalArgumentException("channels " + inChannels + "->" + outChannels + " not divisible by groups " + groups);
        }
    }

    /** Square kernel, symmetric padding, no dilation, one group. */
    public static Conv2dSpec of(int in, int out, int kernel, int stride, int padding) {
        return new Conv2dSpec(in, out, kernel, kernel, stride, stride, padding, padding, padding, padding, 1, 1, 1);
    }

    public int outH(long h) {
        return (int) ((h + padTop + padBottom - (long) dilationH * (kernelH - 1) - 1) / strideH + 1);
    }

    public int outW(long w) {
        return (int) ((w + padLeft + padRight - (long) dilationW * (kernelW - 1) - 1) / strideW + 1);
    }

    /** Weight shape {@code [out, in/groups, kh, kw]}. */
    public long[] weightShape() {
        return new long[]{outChannels, inChannels / groups, kernelH, kernelW};
    }

    /** Multiply-accumulates for one call on an input of batch n and size h x w. */
    public long macs(long n, long h, long w) {
        return n * (long) outChannels * outH(h) * outW(w) * (inChannels / groups) * kernelH * kernelW;
    }
}
