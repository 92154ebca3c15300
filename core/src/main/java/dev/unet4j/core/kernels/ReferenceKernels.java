package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;

import java.util.Arrays;

import static dev.unet4j.core.kernels.RefTensors.broadcastIndex;
import static dev.unet4j.core.kernels.RefTensors.error;
import static dev.unet4j.core.kernels.RefTensors.read;
import static dev.unet4j.core.kernels.RefTensors.requireRank;
import static dev.unet4j.core.kernels.RefTensors.requireShape;
import static dev.unet4j.core.kernels.RefTensors.requireVectorOrNull;
import static dev.unet4j.core.kernels.RefTensors.shape;
import static dev.unet4j.core.kernels.RefTensors.write;

/**
 * The plain-Java statement of every {@link Kernels} operation: obviously correct loops over row-major float arrays,
 * with sums, norm statistics and transcendental functions in double precision, rounded to float32 once per output.
 * Tests use it as the truth for the oneDNN backend; it also serves as a forced plain path. Results are always
 * contiguous (row-major) tensors from the workspace's allocator; inputs are read through their strides and never
 * modified. Stateless and thread-safe.
 *
 * <p>Where the {@link Kernels} contract allows float32 intermediates (attention scores, for instance) this backend keeps
 * them in double: it states the exact math, and a float32 backend should land within float32 rounding of it.
 * Upsampling follows torch's float32 index rule exactly, because there the rounding decides which pixel is copied.
 */
public final class ReferenceKernels implements Kernels {

    @Override
    public String name() {
        return "reference";
    }

    @Override
    public Workspace newWorkspace(Allocator allocator) {
        return new RefWorkspace(allocator);
    }

    // ------------------------------------------------------------ layers with weights

    @Override
    public Conv2d conv2d(Conv2dSpec spec, Tensor weight, Tensor bias) {
        return new RefConv2d(spec, weight, bias);
    }

    @Override
    public Linear linear(Tensor weight, Tensor bias) {
        return new RefLinear(weight, bias);
    }

    @Override
    public Tensor conv2d(Workspace ws, Conv2dSpec spec, Tensor x, Tensor weight, Tensor bias, Tensor residual, float outputScale) {
        RefConv2d.checkWeights(spec, weight, bias);
        return RefConv2d.compute(ws, spec, x, read(weight), bias == null ? null : read(bias), residual, outputScale);
    }

    @Override
    public ConvLayer conv(ConvSpec spec, Tensor weight, Tensor bias) {
        return new RefConv(spec, weight, bias);
    }

    @Override
    public Tensor linear(Workspace ws, Tensor x, Tensor weight, Tensor bias, Tensor residual, float outputScale) {
        RefLinear.checkWeights(weight, bias);
        return RefLinear.compute(ws, x, read(weight), (int) weight.dim(0), (int) weight.dim(1),
                bias == null ? null : read(bias), residual, outputScale);
    }

    // ------------------------------------------------------------ normalisation and activations

    @Override
    public Tensor groupNorm(Workspace ws, Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        String op = "groupNorm";
        if (x.rank() < 2) throw error(op, "input must be [N, C, ...], got " + shape(x));
        long c = x.dim(1);
        if (groups <= 0 || c % groups != 0) throw error(op, c + " channels of " + shape(x) + " not divisible into " + groups + " groups");
        requireVectorOrNull(op, "gamma", gamma, c);
        requireVectorOrNull(op, "beta", beta, c);
        float[] v = read(x);
        int channels = (int) c, n = (int) x.dim(0);
        int spatial = channels == 0 || n == 0 ? 0 : v.length / (n * channels);
        float[] g = gamma == null ? null : read(gamma), b = beta == null ? null : read(beta);
        float[] out = new float[v.length];
        int perGroup = channels / groups;
        for (int sample = 0; sample < n; sample++) {
            for (int grp = 0; grp < groups; grp++) {
                int start = (sample * channels + grp * perGroup) * spatial; // a group's channels are adjacent in row-major order
                double[] stats = meanAndInvStd(v, start, perGroup * spatial, eps);
                for (int ch = grp * perGroup; ch < (grp + 1) * perGroup; ch++) {
                    double mul = stats[1] * (g == null ? 1.0 : g[ch]), add = b == null ? 0.0 : b[ch];
                    for (int i = (sample * channels + ch) * spatial, end = i + spatial; i < end; i++) {
                        double y = (v[i] - stats[0]) * mul + add;
                        out[i] = (float) (silu ? RefMath.silu(y) : y);
                    }
                }
            }
        }
        return write(ws, x.shape(), out);
    }

    @Override
    public Tensor layerNorm(Workspace ws, Tensor x, Tensor gamma, Tensor beta, float eps) {
        String op = "layerNorm";
        if (x.rank() < 1) throw error(op, "input must have a last dimension, got " + shape(x));
        int c = (int) x.dim(-1);
        requireVectorOrNull(op, "gamma", gamma, c);
        requireVectorOrNull(op, "beta", beta, c);
        float[] v = read(x);
        float[] g = gamma == null ? null : read(gamma), b = beta == null ? null : read(beta);
        float[] out = new float[v.length];
        for (int start = 0; c > 0 && start < v.length; start += c) {
            double[] stats = meanAndInvStd(v, start, c, eps);
            for (int i = 0; i < c; i++) {
                double y = (v[start + i] - stats[0]) * stats[1];
                if (g != null) y *= g[i];
                if (b != null) y += b[i];
                out[start + i] = (float) y;
            }
        }
        return write(ws, x.shape(), out);
    }

    /** {mean, 1/sqrt(biased variance + eps)} of {@code v[start, start+len)}, two-pass in double. */
    private static double[] meanAndInvStd(float[] v, int start, int len, float eps) {
        double sum = 0;
        for (int i = 0; i < len; i++) sum += v[start + i];
        double mean = sum / len;
        double sq = 0;
        for (int i = 0; i < len; i++) {
            double d = v[start + i] - mean;
            sq += d * d;
        }
        return new double[]{mean, 1.0 / Math.sqrt(sq / len + eps)};
    }

    @Override
    public Tensor batchNorm(Workspace ws, Tensor x, Tensor mean, Tensor variance, Tensor gamma, Tensor beta, float eps) {
        return RefSpatial.batchNorm(ws, x, mean, variance, gamma, beta, eps);
    }

    @Override
    public Tensor leakyRelu(Workspace ws, Tensor x, float negativeSlope) {
        float[] v = read(x);
        for (int i = 0; i < v.length; i++) if (v[i] < 0) v[i] = v[i] * negativeSlope;
        return write(ws, x.shape(), v);
    }

    @Override
    public Tensor clamp(Workspace ws, Tensor x, float lo, float hi) {
        if (!(lo <= hi)) throw error("clamp", "bounds [" + lo + ", " + hi + "] are empty");
        float[] v = read(x);
        for (int i = 0; i < v.length; i++) v[i] = Math.min(Math.max(v[i], lo), hi);
        return write(ws, x.shape(), v);
    }

    @Override
    public Tensor sigmoid(Workspace ws, Tensor x) {
        float[] v = read(x);
        for (int i = 0; i < v.length; i++) v[i] = (float) (1.0 / (1.0 + Math.exp(-(double) v[i])));
        return write(ws, x.shape(), v);
    }

    @Override
    public Tensor silu(Workspace ws, Tensor x) {
        float[] v = read(x);
        for (int i = 0; i < v.length; i++) v[i] = (float) RefMath.silu(v[i]);
        return write(ws, x.shape(), v);
    }

    @Override
    public Tensor swish(Workspace ws, Tensor x, float beta) {
        if (!(Float.isFinite(beta))) throw error("swish", "beta " + beta + " must be finite");
        float[] v = read(x);
        for (int i = 0; i < v.length; i++) v[i] = (float) (v[i] * RefMath.sigmoid((double) beta * v[i]));
        return write(ws, x.shape(), v);
    }

    @Override
    public Tensor gelu(Workspace ws, Tensor x, boolean exact) {
        float[] v = read(x);
        for (int i = 0; i < v.length; i++) v[i] = (float) (exact ? RefMath.geluExact(v[i]) : RefMath.geluTanh(v[i]));
        return write(ws, x.shape(), v);
    }

    @Override
    public Tensor geglu(Workspace ws, Tensor x) {
        if (x.rank() < 1 || x.dim(-1) % 2 != 0) throw error("geglu", "last dimension of " + shape(x) + " must be even (2D = value, gate)");
        int twoD = (int) x.dim(-1), d = twoD / 2;
        float[] v = read(x);
        int rows = twoD == 0 ? 0 : v.length / twoD;
        float[] out = new float[rows * d];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < d; i++) {
                double h = v[r * twoD + i], gate = v[r * twoD + d + i];
                out[r * d + i] = (float) (h * RefMath.geluExact(gate));
            }
        }
        long[] outShape = x.shape();
        outShape[outShape.length - 1] = d;
        return write(ws, outShape, out);
    }

    @Override
    public Tensor softmax(Workspace ws, Tensor x) {
        if (x.rank() < 1) throw error("softmax", "input must have a last dimension, got " + shape(x));
        int c = (int) x.dim(-1);
        float[] v = read(x);
        double[] row = new double[c];
        for (int start = 0; c > 0 && start < v.length; start += c) {
            for (int i = 0; i < c; i++) row[i] = v[start + i];
            softmaxInPlace(row, c);
            for (int i = 0; i < c; i++) v[start + i] = (float) row[i];
        }
        return write(ws, x.shape(), v);
    }

    /** Max-subtracted softmax of {@code row[0, len)} in place. A row of all -inf gives NaN, as in torch. */
    private static void softmaxInPlace(double[] row, int len) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < len; i++) max = Math.max(max, row[i]);
        double sum = 0;
        for (int i = 0; i < len; i++) {
            row[i] = Math.exp(row[i] - max);
            sum += row[i];
        }
        for (int i = 0; i < len; i++) row[i] /= sum;
    }

    // ------------------------------------------------------------ matmul and attention

    @Override
    public Tensor matmul(Workspace ws, Tensor a, Tensor b, boolean transposeB, float alpha) {
        String op = "matmul";
        if (a.rank() != 3 || b.rank() != 3) throw error(op, "a " + shape(a) + " and b " + shape(b) + " must both be 3-D [B, ., .]");
        int batch = (int) a.dim(0), m = (int) a.dim(1), k = (int) a.dim(2);
        int bk = (int) (transposeB ? b.dim(2) : b.dim(1)), nn = (int) (transposeB ? b.dim(1) : b.dim(2));
        if (bk != k || (b.dim(0) != batch && b.dim(0) != 1)) {
            throw error(op, "a " + shape(a) + " incompatible with b " + shape(b) + (transposeB ? " (transposed)" : ""));
        }
        float[] av = read(a), bv = read(b);
        float[] out = new float[RefTensors.size(op, new long[]{batch, m, nn})];
        double[] acc = new double[nn];
        for (int i = 0; i < batch; i++) {
            int bBase = b.dim(0) == 1 ? 0 : i * k * nn;
            for (int r = 0; r < m; r++) {
                int aRow = (i * m + r) * k;
                Arrays.fill(acc, 0.0);
                if (transposeB) {
                    for (int col = 0; col < nn; col++) {
                        double s = 0;
                        for (int t = 0; t < k; t++) s += (double) av[aRow + t] * bv[bBase + col * k + t];
                        acc[col] = s;
                    }
                } else {
                    for (int t = 0; t < k; t++) {
                        double aval = av[aRow + t];
                        int bRow = bBase + t * nn;
                        for (int col = 0; col < nn; col++) acc[col] += aval * bv[bRow + col];
                    }
                }
                int oRow = (i * m + r) * nn;
                for (int col = 0; col < nn; col++) out[oRow + col] = (float) (alpha * acc[col]);
            }
        }
        return write(ws, new long[]{batch, m, nn}, out);
    }

    @Override
    public Tensor attention(Workspace ws, Tensor q, Tensor k, Tensor v, int heads, float scale, Tensor bias) {
        String op = "attention";
        requireRank(op, "q", q, 3);
        requireRank(op, "k", k, 3);
        requireRank(op, "v", v, 3);
        int batch = (int) q.dim(0), tq = (int) q.dim(1), width = (int) q.dim(2), tk = (int) k.dim(1);
        if (heads <= 0 || width % heads != 0) throw error(op, "q " + shape(q) + " width not divisible into " + heads + " heads");
        if (k.dim(0) != batch || k.dim(2) != width || !Arrays.equals(k.shape(), v.shape())) {
            throw error(op, "q " + shape(q) + ", k " + shape(k) + ", v " + shape(v) + " must be [B, Tq, H*D], [B, Tk, H*D], [B, Tk, H*D]");
        }
        boolean perQuery = bias != null && bias.rank() == 3;
        if (bias != null && !(Arrays.equals(bias.shape(), new long[]{batch, tk}) || Arrays.equals(bias.shape(), new long[]{batch, tq, tk}))) {
            throw error(op, "bias " + shape(bias) + " must be [" + batch + ", " + tk + "] or [" + batch + ", " + tq + ", " + tk + "]");
        }
        int d = width / heads;
        float[] qv = read(q), kv = read(k), vv = read(v), mask = bias == null ? null : read(bias);
        float[] out = new float[batch * tq * width];
        double[] p = new double[tk];
        double[] o = new double[d];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < tq; i++) {
                    int qOff = (b * tq + i) * width + h * d;
                    for (int j = 0; j < tk; j++) {
                        int kOff = (b * tk + j) * width + h * d;
                        double s = 0;
                        for (int t = 0; t < d; t++) s += (double) qv[qOff + t] * kv[kOff + t];
                        p[j] = scale * s + (mask == null ? 0.0 : mask[(perQuery ? b * tq + i : b) * tk + j]);
                    }
                    softmaxInPlace(p, tk);
                    Arrays.fill(o, 0.0);
                    for (int j = 0; j < tk; j++) {
                        int vOff = (b * tk + j) * width + h * d;
                        for (int t = 0; t < d; t++) o[t] += p[j] * vv[vOff + t];
                    }
                    for (int t = 0; t < d; t++) out[qOff + t] = (float) o[t];
                }
            }
        }
        return write(ws, new long[]{batch, tq, width}, out);
    }

    // ------------------------------------------------------------ resampling and shape ops

    @Override
    public Tensor upsampleNearest(Workspace ws, Tensor x, int outH, int outW) {
        requireRank("upsampleNearest", "input", x, 4);
        if (outH <= 0 || outW <= 0) throw error("upsampleNearest", "output size " + outH + "x" + outW + " for input " + shape(x));
        int n = (int) x.dim(0), c = (int) x.dim(1), h = (int) x.dim(2), w = (int) x.dim(3);
        int[] rows = nearestSourceIndex(h, outH), cols = nearestSourceIndex(w, outW);
        float[] in = read(x);
        float[] out = new float[RefTensors.size("upsampleNearest", new long[]{n, c, outH, outW})];
        for (int plane = 0; plane < n * c; plane++) {
            for (int y = 0; y < outH; y++) {
                int src = (plane * h + rows[y]) * w, dst = (plane * outH + y) * outW;
                for (int xo = 0; xo < outW; xo++) out[dst + xo] = in[src + cols[xo]];
            }
        }
        return write(ws, new long[]{n, c, outH, outW}, out);
    }

    /**
     * torch's nearest rule (aten/src/ATen/native/UpSample.h, no explicit scale): {@code scale = (float) in / out} in
     * float32, {@code src = min(floor(dst * scale), in - 1)} with the product in float32.
     */
    static int[] nearestSourceIndex(int in, int out) {
        float scale = (float) in / out;
        int[] idx = new int[out];
        for (int dst = 0; dst < out; dst++) idx[dst] = Math.min((int) Math.floor(dst * scale), in - 1);
        return idx;
    }

    @Override
    public Tensor avgPool2d(Workspace ws, Tensor x, int kernel, int stride) {
        String op = "avgPool2d";
        requireRank(op, "input", x, 4);
        int n = (int) x.dim(0), c = (int) x.dim(1), h = (int) x.dim(2), w = (int) x.dim(3);
        if (kernel <= 0 || stride <= 0 || kernel > h || kernel > w) {
            throw error(op, "kernel " + kernel + " stride " + stride + " invalid for input " + shape(x));
        }
        int oh = (h - kernel) / stride + 1, ow = (w - kernel) / stride + 1;
        float[] in = read(x);
        float[] out = new float[n * c * oh * ow];
        for (int plane = 0; plane < n * c; plane++) {
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++) {
                    double s = 0;
                    for (int ky = 0; ky < kernel; ky++) {
                        int row = (plane * h + oy * stride + ky) * w + ox * stride;
                        for (int kx = 0; kx < kernel; kx++) s += in[row + kx];
                    }
                    out[(plane * oh + oy) * ow + ox] = (float) (s / (kernel * kernel));
                }
            }
        }
        return write(ws, new long[]{n, c, oh, ow}, out);
    }

    @Override
    public Tensor pool(Workspace ws, Tensor x, boolean max, int[] kernel, int[] stride) {
        return RefSpatial.pool(ws, x, max, kernel, stride);
    }

    @Override
    public Tensor reduce(Workspace ws, Tensor x, boolean max, int... dims) {
        return RefSpatial.reduce(ws, x, max, dims);
    }

    @Override
    public Tensor resizeLinear(Workspace ws, Tensor x, long... size) {
        return RefSpatial.resizeLinear(ws, x, size);
    }

    @Override
    public Tensor concat(Workspace ws, Tensor a, Tensor b) {
        long[] as = a.shape(), bs = b.shape();
        boolean ok = as.length >= 2 && as.length == bs.length;
        for (int i = 0; ok && i < as.length; i++) ok = i == 1 || as[i] == bs[i];
        if (!ok) throw error("concat", "a " + shape(a) + " and b " + shape(b) + " differ outside dimension 1");
        float[] av = read(a), bv = read(b);
        int outer = (int) as[0];
        int aBlock = outer == 0 ? 0 : av.length / outer, bBlock = outer == 0 ? 0 : bv.length / outer;
        float[] out = new float[av.length + bv.length];
        for (int i = 0; i < outer; i++) {
            System.arraycopy(av, i * aBlock, out, i * (aBlock + bBlock), aBlock);
            System.arraycopy(bv, i * bBlock, out, i * (aBlock + bBlock) + aBlock, bBlock);
        }
        long[] outShape = as.clone();
        outShape[1] = as[1] + bs[1];
        return write(ws, outShape, out);
    }

    // ------------------------------------------------------------ elementwise

    @Override
    public Tensor add(Workspace ws, Tensor a, Tensor b, float alpha, float beta) {
        int[] map = broadcastIndex("add", a.shape(), b.shape());
        float[] av = read(a), bv = read(b);
        for (int i = 0; i < av.length; i++) av[i] = (float) ((double) alpha * av[i] + (double) beta * bv[map[i]]);
        return write(ws, a.shape(), av);
    }

    @Override
    public Tensor mul(Workspace ws, Tensor a, Tensor b) {
        int[] map = broadcastIndex("mul", a.shape(), b.shape());
        float[] av = read(a), bv = read(b);
        for (int i = 0; i < av.length; i++) av[i] = av[i] * bv[map[i]];
        return write(ws, a.shape(), av);
    }

    @Override
    public Tensor scale(Workspace ws, Tensor a, float s) {
        float[] av = read(a);
        for (int i = 0; i < av.length; i++) av[i] = av[i] * s;
        return write(ws, a.shape(), av);
    }

    @Override
    public Tensor scaleShift(Workspace ws, Tensor x, Tensor scale, Tensor shift) {
        String op = "scaleShift";
        if (x.rank() < 2) throw error(op, "input must be [N, C, ...], got " + shape(x));
        requireShape(op, "scale", scale, x.dim(0), x.dim(1));
        requireShape(op, "shift", shift, x.dim(0), x.dim(1));
        float[] v = read(x), sc = read(scale), sh = read(shift);
        int nc = sc.length, spatial = nc == 0 ? 0 : v.length / nc;
        for (int i = 0; i < nc; i++) {
            double mult = 1.0 + sc[i], add = sh[i];
            for (int j = i * spatial, end = j + spatial; j < end; j++) v[j] = (float) (v[j] * mult + add);
        }
        return write(ws, x.shape(), v);
    }

    @Override
    public Tensor copy(Workspace ws, Tensor x) {
        return write(ws, x.shape(), read(x));
    }
}
