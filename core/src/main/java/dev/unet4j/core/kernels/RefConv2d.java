package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Tensor;

import java.util.Arrays;

import static dev.unet4j.core.kernels.RefTensors.error;
import static dev.unet4j.core.kernels.RefTensors.read;
import static dev.unet4j.core.kernels.RefTensors.requireShape;
import static dev.unet4j.core.kernels.RefTensors.requireVectorOrNull;
import static dev.unet4j.core.kernels.RefTensors.shape;

/**
 * Direct convolution in double precision: the textbook sum over input channels of the group and kernel taps,
 * with zero padding (asymmetric allowed), stride and dilation. The prepared form keeps float copies of the weights.
 */
final class RefConv2d implements Conv2d {
    private static final String OP = "conv2d";
    private final Conv2dSpec spec;
    private final float[] weight;
    private final float[] bias; // null = none
    private volatile boolean closed;

    RefConv2d(Conv2dSpec spec, Tensor weight, Tensor bias) {
        checkWeights(spec, weight, bias);
        this.spec = spec;
        this.weight = read(weight);
        this.bias = bias == null ? null : read(bias);
    }

    @Override
    public Conv2dSpec spec() {
        return spec;
    }

    @Override
    public Tensor forward(Workspace ws, Tensor x, Tensor residual, float outputScale) {
        if (closed) throw new IllegalStateException("conv2d " + spec + " used after close");
        return compute(ws, spec, x, weight, bias, residual, outputScale);
    }

    @Override
    public void close() {
        closed = true;
    }

    static void checkWeights(Conv2dSpec spec, Tensor weight, Tensor bias) {
        requireShape(OP, "weight", weight, spec.weightShape());
        requireVectorOrNull(OP, "bias", bias, spec.outChannels());
    }

    /** {@code (conv(x, w) + b + residual) * outputScale}; {@code b}, {@code residual} may be null. */
    static Tensor compute(Workspace ws, Conv2dSpec s, Tensor x, float[] w, float[] b, Tensor residual, float outputScale) {
        if (x.rank() != 4 || x.dim(1) != s.inChannels()) {
            throw error(OP, "input " + shape(x) + " is not [N, " + s.inChannels() + ", H, W] for " + s);
        }
        int n = (int) x.dim(0), h = (int) x.dim(2), wd = (int) x.dim(3);
        int oh = s.outH(h), ow = s.outW(wd);
        if (oh <= 0 || ow <= 0) throw error(OP, "input " + shape(x) + " is smaller than the kernel of " + s);
        long[] outShape = {n, s.outChannels(), oh, ow};
        if (residual != null) requireShape(OP, "residual", residual, outShape);

        float[] in = read(x);
        float[] res = residual == null ? null : read(residual);
        int cout = s.outChannels(), cinG = s.inChannels() / s.groups(), coutG = cout / s.groups();
        int kh = s.kernelH(), kw = s.kernelW();
        int plane = oh * ow;
        float[] out = new float[RefTensors.size(OP, outShape)];
        double[] acc = new double[plane];
        for (int b0 = 0; b0 < n; b0++) {
            for (int oc = 0; oc < cout; oc++) {
                Arrays.fill(acc, b == null ? 0.0 : b[oc]);
                int firstIc = (oc / coutG) * cinG;
                for (int icg = 0; icg < cinG; icg++) {
                    int inPlane = ((b0 * s.inChannels()) + firstIc + icg) * h * wd;
                    int wBase = (oc * cinG + icg) * kh * kw;
                    for (int ky = 0; ky < kh; ky++) {
                        for (int kx = 0; kx < kw; kx++) {
                            double wv = w[wBase + ky * kw + kx];
                            int dy = ky * s.dilationH() - s.padTop(), dx = kx * s.dilationW() - s.padLeft();
                            // output columns whose input column ox*stride + dx lies inside [0, W)
                            int oxFrom = dx >= 0 ? 0 : ceilDiv(-dx, s.strideW());
                            int oxTo = Math.min(ow, ceilDiv(wd - dx, s.strideW()));
                            for (int oy = 0; oy < oh; oy++) {
                                int iy = oy * s.strideH() + dy;
                                if (iy < 0 || iy >= h) continue;
                                int row = inPlane + iy * wd + dx, accRow = oy * ow;
                                for (int ox = oxFrom; ox < oxTo; ox++) {
                                    acc[accRow + ox] += wv * in[row + ox * s.strideW()];
                                }
                            }
                        }
                    }
                }
                int outPlane = (b0 * cout + oc) * plane;
                for (int i = 0; i < plane; i++) {
                    double v = acc[i];
                    if (res != null) v += res[outPlane + i];
                    out[outPlane + i] = (float) (v * outputScale);
                }
            }
        }
        return RefTensors.write(ws, outShape, out);
    }

    private static int ceilDiv(int a, int b) {
        return Math.floorDiv(a + b - 1, b);
    }
}
