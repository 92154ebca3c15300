package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Tensor;

import static dev.unet4j.core.kernels.RefTensors.read;
import static dev.unet4j.core.kernels.RefTensors.requireShape;
import static dev.unet4j.core.kernels.RefTensors.requireVectorOrNull;

/**
 * Direct N-d convolution and transposed convolution in double precision (a 2-D problem runs as a volume of depth 1):
 * the convolution gathers {@code sum w[o, i, k] x[i, o*s - p + k]}, the transposed one scatters every input value
 * {@code x[i, j]} into {@code y[o, j*s - p + k]} with {@code w[i, o, k]}, exactly torch's definitions.
 */
final class RefConv implements ConvLayer {
    private final ConvSpec spec;
    private final float[] weight;
    private final float[] bias; // null = none
    private volatile boolean closed;

    RefConv(ConvSpec spec, Tensor weight, Tensor bias) {
        requireShape("conv", "weight", weight, spec.weightShape());
        requireVectorOrNull("conv", "bias", bias, spec.outChannels());
        this.spec = spec;
        this.weight = read(weight);
        this.bias = bias == null ? null : read(bias);
    }

    @Override
    public ConvSpec spec() {
        return spec;
    }

    @Override
    public Tensor forward(Workspace ws, Tensor x) {
        if (closed) throw new IllegalStateException("conv " + spec + " used after close");
        long[] outShape = spec.outShape(x.shape());
        float[] out = spec.transposed() ? transposed(spec, x, weight, bias, outShape) : direct(spec, x, weight, bias, outShape);
        return RefTensors.write(ws, outShape, out);
    }

    /** Sizes {d, h, w} of the spatial dimensions of {@code shape} (depth 1 for a 2-D map). */
    private static int[] dhw(long[] shape) {
        return shape.length == 5 ? new int[]{(int) shape[2], (int) shape[3], (int) shape[4]} : new int[]{1, (int) shape[2], (int) shape[3]};
    }

    /** {kernel, stride, padding} of dimension d in volume order (depth: 1, 1, 0 for 2-D). */
    private static int[] axis(ConvSpec s, int d) {
        int off = 3 - s.spatialDims();
        if (d < off) return new int[]{1, 1, 0};
        return new int[]{s.kernel()[d - off], s.stride()[d - off], s.padding()[d - off]};
    }

    private static float[] direct(ConvSpec s, Tensor x, float[] w, float[] bias, long[] outShape) {
        float[] in = read(x);
        int n = (int) outShape[0], cout = s.outChannels(), cin = s.inChannels(), g = s.groups(), cinG = cin / g, coutG = cout / g;
        int[] id = dhw(x.shape()), od = dhw(outShape);
        int[][] ax = {axis(s, 0), axis(s, 1), axis(s, 2)};
        int kd = ax[0][0], kh = ax[1][0], kw = ax[2][0];
        int inPlane = id[0] * id[1] * id[2], outPlane = od[0] * od[1] * od[2];
        double[] acc = new double[outPlane];
        float[] out = new float[RefTensors.size("conv", outShape)];
        for (int b = 0; b < n; b++) {
            for (int oc = 0; oc < cout; oc++) {
                java.util.Arrays.fill(acc, bias == null ? 0.0 : bias[oc]);
                int firstIc = (oc / coutG) * cinG;
                for (int icg = 0; icg < cinG; icg++) {
                    int src = (b * cin + firstIc + icg) * inPlane;
                    int wBase = (oc * cinG + icg) * kd * kh * kw;
                    for (int a = 0; a < kd; a++) for (int c = 0; c < kh; c++) for (int e = 0; e < kw; e++) {
                        double wv = w[wBase + (a * kh + c) * kw + e];
                        for (int z = 0; z < od[0]; z++) {
                            int iz = z * ax[0][1] - ax[0][2] + a;
                            if (iz < 0 || iz >= id[0]) continue;
                            for (int y = 0; y < od[1]; y++) {
                                int iy = y * ax[1][1] - ax[1][2] + c;
                                if (iy < 0 || iy >= id[1]) continue;
                                int row = src + (iz * id[1] + iy) * id[2], accRow = (z * od[1] + y) * od[2];
                                for (int xo = 0; xo < od[2]; xo++) {
                                    int ix = xo * ax[2][1] - ax[2][2] + e;
                                    if (ix >= 0 && ix < id[2]) acc[accRow + xo] += wv * in[row + ix];
                                }
                            }
                        }
                    }
                }
                int dst = (b * cout + oc) * outPlane;
                for (int i = 0; i < outPlane; i++) out[dst + i] = (float) acc[i];
            }
        }
        return out;
    }

    private static float[] transposed(ConvSpec s, Tensor x, float[] w, float[] bias, long[] outShape) {
        float[] in = read(x);
        int n = (int) outShape[0], cout = s.outChannels(), cin = s.inChannels(), g = s.groups(), cinG = cin / g, coutG = cout / g;
        int[] id = dhw(x.shape()), od = dhw(outShape);
        int[][] ax = {axis(s, 0), axis(s, 1), axis(s, 2)};
        int kd = ax[0][0], kh = ax[1][0], kw = ax[2][0];
        int inPlane = id[0] * id[1] * id[2], outPlane = od[0] * od[1] * od[2];
        double[] acc = new double[outPlane];
        float[] out = new float[RefTensors.size("convTranspose", outShape)];
        for (int b = 0; b < n; b++) {
            for (int oc = 0; oc < cout; oc++) {
                java.util.Arrays.fill(acc, bias == null ? 0.0 : bias[oc]);
                int grp = oc / coutG, ocg = oc % coutG;
                for (int icg = 0; icg < cinG; icg++) {
                    int ic = grp * cinG + icg;
                    int src = (b * cin + ic) * inPlane;
                    int wBase = (ic * coutG + ocg) * kd * kh * kw;
                    for (int z = 0; z < id[0]; z++) for (int y = 0; y < id[1]; y++) for (int xi = 0; xi < id[2]; xi++) {
                        double v = in[src + (z * id[1] + y) * id[2] + xi];
                        for (int a = 0; a < kd; a++) {
                            int oz = z * ax[0][1] - ax[0][2] + a;
                            if (oz < 0 || oz >= od[0]) continue;
                            for (int c = 0; c < kh; c++) {
                                int oy = y * ax[1][1] - ax[1][2] + c;
                                if (oy < 0 || oy >= od[1]) continue;
                                for (int e = 0; e < kw; e++) {
                                    int ox = xi * ax[2][1] - ax[2][2] + e;
                                    if (ox >= 0 && ox < od[2]) acc[(oz * od[1] + oy) * od[2] + ox] += v * w[wBase + (a * kh + c) * kw + e];
                                }
                            }
                        }
                    }
                }
                int dst = (b * cout + oc) * outPlane;
                for (int i = 0; i < outPlane; i++) out[dst + i] = (float) acc[i];
            }
        }
        return out;
    }

    @Override
    public void close() {
        closed = true;
    }

}
