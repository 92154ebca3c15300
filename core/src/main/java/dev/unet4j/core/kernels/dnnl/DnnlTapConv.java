package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.tensor.Tensor;

/**
 * A convolution with few output channels (a UNet's {@code conv_out}: 1 or 3 for pixel models, 4 for latents) taken
 * apart at its kernel taps, as three convolutions oneDNN runs at full width: a 1x1 convolution onto one channel per
 * (tap, output channel), {@code z[t*OC + o] = W[o, :, i, j] . x} ({@code t = i*KW + j}); a depthwise convolution whose
 * channel {@code t*OC + o} has a single 1 at tap {@code t} (it moves each tap's plane to where the tap reads, with the
 * spec's stride, padding and dilation); and a 1x1 convolution of 0/1 weights that sums the taps of each output channel,
 * with the bias, residual and output scale fused. oneDNN computes output channels in blocks of 16, so a direct oc=1
 * convolution costs as much as an oc=16 one.
 */
final class DnnlTapConv implements AutoCloseable {
    /** Output channels up to which the tap form is used. */
    static final int MAX_OUT_CHANNELS = 4;

    private final DnnlConv2d taps, shifts, sum;

    /**
     * Output pixels (batch included) from which the three calls pay: 20x32x16x16 -> 1 (5120 pixels) 78 vs 158 us,
     * 160x32x16x16 -> 1 384 vs 1132 us, SD's 2x320x32x32 -> 4 206 vs 585 us; one 16x16 image 20 vs 13 us.
     */
    static final long MIN_PIXELS = 1024;

    /**
     * Input channels from which the tap form is used: with few inputs the direct convolution is already cheap and the
     * tap form's kh*kw*oc-channel intermediate dominates (UNet++ with its 1 -> 4 input conv, batch 8 at 256x256: the
     * whole forward 2.4 s with the tap form, 0.7 s without, on 2 shared cores).
     */
    static final int MIN_IN_CHANNELS = 16;

    /** Whether a convolution of {@code spec} can run in the tap form. */
    static boolean applies(Conv2dSpec spec) {
        return spec.groups() == 1 && spec.outChannels() <= MAX_OUT_CHANNELS && spec.inChannels() >= MIN_IN_CHANNELS
                && spec.kernelH() * spec.kernelW() > 1;
    }

    /** Whether it is the faster form for input {@code x} ({@code [N, C, H, W]}). */
    static boolean pays(Conv2dSpec spec, Tensor x) {
        return x.dim(0) * spec.outH(x.dim(2)) * spec.outW(x.dim(3)) >= MIN_PIXELS;
    }

    DnnlTapConv(DnnlKernels kernels, Conv2dSpec spec, Tensor weight, Tensor bias) {
        int oc = spec.outChannels(), ic = spec.inChannels(), kh = spec.kernelH(), kw = spec.kernelW(), t = kh * kw * oc;
        float[] w = weight.toFloatArray();                                  // [oc, ic, kh, kw]
        float[] rows = new float[t * ic];                                   // [(i*kw + j)*oc + o, ic, 1, 1]
        float[] oneHot = new float[t * kh * kw];                            // [(i*kw + j)*oc + o, 1, kh, kw]
        float[] sums = new float[oc * t];                                   // [o, (i*kw + j)*oc + o, 1, 1] = 1
        for (int i = 0; i < kh; i++) {
            for (int j = 0; j < kw; j++) {
                for (int o = 0; o < oc; o++) {
                    int c = (i * kw + j) * oc + o;
                    for (int k = 0; k < ic; k++) rows[c * ic + k] = w[((o * ic + k) * kh + i) * kw + j];
                    oneHot[(c * kh + i) * kw + j] = 1f;
                    sums[o * t + c] = 1f;
                }
            }
        }
        DnnlConv2d a = null, b = null;
        try (Tensor r = Tensor.of(rows, t, ic, 1, 1); Tensor h = Tensor.of(oneHot, t, 1, kh, kw); Tensor m = Tensor.of(sums, oc, t, 1, 1)) {
            a = new DnnlConv2d(kernels, Conv2dSpec.of(ic, t, 1, 1, 0), r, null);
            b = new DnnlConv2d(kernels, new Conv2dSpec(t, t, kh, kw, spec.strideH(), spec.strideW(), spec.padTop(), spec.padBottom(),
                    spec.padLeft(), spec.padRight(), spec.dilationH(), spec.dilationW(), t), h, null);
            this.sum = new DnnlConv2d(kernels, Conv2dSpec.of(t, oc, 1, 1, 0), m, bias);
            this.taps = a;
            this.shifts = b;
        } catch (RuntimeException e) {
            if (a != null) a.close();
            if (b != null) b.close();
            throw e;
        }
    }

    /** {@code (conv(src) + bias + res) * scale} for channels-last {@code src} (and {@code res}, or null). */
    Tensor forward(DnnlWorkspace ws, Tensor src, Tensor res, float scale) {
        try (Tensor z = taps.forward(ws, src); Tensor shifted = shifts.forward(ws, z)) { // [N, T*OC, H, W], [N, T*OC, OH, OW]
            return sum.forward(ws, shifted, res, scale);
        }
    }

    @Override
    public void close() {
        taps.close();
        shifts.close();
        sum.close();
    }
}
