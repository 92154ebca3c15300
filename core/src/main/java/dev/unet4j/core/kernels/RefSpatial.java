package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Tensor;

import java.util.Arrays;

import static dev.unet4j.core.kernels.RefTensors.error;
import static dev.unet4j.core.kernels.RefTensors.read;
import static dev.unet4j.core.kernels.RefTensors.requireVectorOrNull;
import static dev.unet4j.core.kernels.RefTensors.shape;
import static dev.unet4j.core.kernels.RefTensors.write;

/**
 * The reference statements of the segmentation-UNet operations (inference BatchNorm, pooling, reductions, linear
 * resizing) over 2-D and 3-D maps, in double precision, rounded once per output.
 */
final class RefSpatial {
    private RefSpatial() {
    }

    static Tensor batchNorm(Workspace ws, Tensor x, Tensor mean, Tensor var, Tensor gamma, Tensor beta, float eps) {
        String op = "batchNorm";
        if (x.rank() < 2) throw error(op, "input must be [N, C, ...], got " + shape(x));
        long c = x.dim(1);
        if (mean == null || var == null) throw error(op, "running mean and variance are required");
        requireVectorOrNull(op, "mean", mean, c);
        requireVectorOrNull(op, "variance", var, c);
        requireVectorOrNull(op, "gamma", gamma, c);
        requireVectorOrNull(op, "beta", beta, c);
        float[] v = read(x), m = read(mean), s2 = read(var);
        float[] g = gamma == null ? null : read(gamma), b = beta == null ? null : read(beta);
        int channels = (int) c, spatial = v.length == 0 ? 0 : (int) (v.length / (x.dim(0) * c));
        for (int i = 0; i < v.length; i++) {
            int ch = (i / Math.max(1, spatial)) % channels;
            double y = (v[i] - (double) m[ch]) / Math.sqrt((double) s2[ch] + eps);
            if (g != null) y *= g[ch];
            if (b != null) y += b[ch];
            v[i] = (float) y;
        }
        return write(ws, x.shape(), v);
    }

    static Tensor pool(Workspace ws, Tensor x, boolean max, int[] kernel, int[] stride) {
        String op = max ? "maxPool" : "avgPool";
        int r = x.rank() - 2;
        if ((r != 2 && r != 3) || kernel.length != r || stride.length != r) {
            throw error(op, "input " + shape(x) + " with kernel " + Arrays.toString(kernel) + ", stride " + Arrays.toString(stride)
                    + ": expected [N, C, (D,) H, W] and one size per spatial dimension");
        }
        int[] in = new int[3], k = {1, 1, 1}, s = {1, 1, 1}, out = new int[3];
        Arrays.fill(in, 1);
        for (int d = 0; d < r; d++) {
            in[3 - r + d] = (int) x.dim(2 + d);
            k[3 - r + d] = kernel[d];
            s[3 - r + d] = stride[d];
        }
        for (int d = 0; d < 3; d++) {
            if (k[d] <= 0 || s[d] <= 0 || k[d] > in[d]) {
                throw error(op, "kernel " + Arrays.toString(kernel) + " stride " + Arrays.toString(stride) + " invalid for input " + shape(x));
            }
            out[d] = (in[d] - k[d]) / s[d] + 1;
        }
        long[] outShape = x.shape();
        for (int d = 0; d < r; d++) outShape[2 + d] = out[3 - r + d];
        float[] v = read(x);
        int planes = (int) (x.dim(0) * x.dim(1)), inPlane = in[0] * in[1] * in[2], outPlane = out[0] * out[1] * out[2];
        float[] o = new float[planes * outPlane];
        double count = (double) k[0] * k[1] * k[2];
        for (int p = 0; p < planes; p++) {
            for (int z = 0; z < out[0]; z++) for (int y = 0; y < out[1]; y++) for (int xo = 0; xo < out[2]; xo++) {
                double acc = max ? Double.NEGATIVE_INFINITY : 0;
                for (int a = 0; a < k[0]; a++) for (int b = 0; b < k[1]; b++) for (int c = 0; c < k[2]; c++) {
                    float val = v[p * inPlane + ((z * s[0] + a) * in[1] + y * s[1] + b) * in[2] + xo * s[2] + c];
                    acc = max ? Math.max(acc, val) : acc + val;
                }
                o[p * outPlane + (z * out[1] + y) * out[2] + xo] = (float) (max ? acc : acc / count);
            }
        }
        return write(ws, outShape, o);
    }

    static Tensor reduce(Workspace ws, Tensor x, boolean max, int... dims) {
        String op = max ? "reduceMax" : "reduceMean";
        long[] outShape = x.shape();
        if (dims.length == 0) throw error(op, "no dimensions to reduce for " + shape(x));
        for (int d : dims) {
            if (d < 0 || d >= x.rank() || outShape[d] == 1 && x.dim(d) != 1) throw error(op, "dimensions " + Arrays.toString(dims) + " invalid for " + shape(x));
            if (x.dim(d) == 0) throw error(op, "empty dimension " + d + " of " + shape(x));
            outShape[d] = 1;
        }
        int[] map = RefTensors.broadcastIndex(op, x.shape(), outShape);
        float[] v = read(x);
        double[] acc = new double[RefTensors.size(op, outShape)];
        if (max) Arrays.fill(acc, Double.NEGATIVE_INFINITY);
        for (int i = 0; i < v.length; i++) acc[map[i]] = max ? Math.max(acc[map[i]], v[i]) : acc[map[i]] + v[i];
        double count = acc.length == 0 ? 1 : (double) v.length / acc.length;
        float[] o = new float[acc.length];
        for (int i = 0; i < o.length; i++) o[i] = (float) (max ? acc[i] : acc[i] / count);
        return write(ws, outShape, o);
    }

    /**
     * torch's {@code align_corners=False} linear rule per axis (aten UpSample.h, float32 index math): scale
     * {@code in / out}, source {@code max(0, scale * (dst + 0.5) - 0.5)}, neighbours {@code i0 = floor(src)} and
     * {@code min(i0 + 1, in - 1)}; axes are applied one after another in double.
     */
    static Tensor resizeLinear(Workspace ws, Tensor x, long... size) {
        String op = "resizeLinear";
        int r = x.rank() - 2;
        if ((r != 2 && r != 3) || size.length != r) {
            throw error(op, "input " + shape(x) + " to " + Arrays.toString(size) + ": expected [N, C, H, W] or [N, C, D, H, W] and one size per spatial dimension");
        }
        long[] shape = x.shape();
        for (int d = 0; d < r; d++) {
            if (size[d] <= 0 || shape[2 + d] <= 0) throw error(op, "input " + shape(x) + " to " + Arrays.toString(size));
        }
        float[] f = read(x);
        double[] cur = new double[f.length];
        for (int i = 0; i < f.length; i++) cur[i] = f[i];
        for (int d = 0; d < r; d++) {
            int axis = 2 + d, in = (int) shape[axis], out = (int) size[d];
            long outer = 1, inner = 1;
            for (int i = 0; i < axis; i++) outer *= shape[i];
            for (int i = axis + 1; i < shape.length; i++) inner *= shape[i];
            double[] next = new double[RefTensors.size(op, new long[]{outer, out, inner})];
            float scale = (float) in / out;
            for (int o = 0; o < out; o++) {
                float src = Math.max(0f, scale * (o + 0.5f) - 0.5f);
                int i0 = Math.min((int) src, in - 1), i1 = i0 < in - 1 ? i0 + 1 : i0;
                double l1 = src - i0, l0 = 1.0 - l1;
                for (long a = 0; a < outer; a++) {
                    int s0 = (int) ((a * in + i0) * inner), s1 = (int) ((a * in + i1) * inner), t = (int) ((a * out + o) * inner);
                    for (int b = 0; b < inner; b++) next[t + b] = l0 * cur[s0 + b] + l1 * cur[s1 + b];
                }
            }
            cur = next;
            shape[axis] = out;
        }
        float[] o = new float[cur.length];
        for (int i = 0; i < o.length; i++) o[i] = (float) cur[i];
        return write(ws, shape, o);
    }
}
