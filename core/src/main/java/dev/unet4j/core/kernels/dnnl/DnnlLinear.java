package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.NativeBuffer;
import dev.unet4j.core.tensor.Tensor;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive_attr;
import org.bytedeco.dnnl.dnnl_primitive_desc;

import java.util.Arrays;

import static dev.unet4j.core.kernels.dnnl.Dnnl.check;
import static dev.unet4j.core.kernels.dnnl.Dnnl.engine;
import static org.bytedeco.dnnl.global.dnnl.*;

/**
 * A linear layer prepared for oneDNN: a matmul {@code [M, in] x [in, out]} over the rows of the input (all leading
 * dimensions folded into M), weights reordered once into the matmul's preferred blocked layout.
 */
final class DnnlLinear implements Linear {
    private static final long NOMINAL_ROWS = 1024;

    private final DnnlKernels kernels;
    private final int in;
    private final int out;
    private final PackedWeights weights;
    private final NativeBuffer bias;
    private final PrimitiveCache primitives = new PrimitiveCache();
    private boolean closed;

    DnnlLinear(DnnlKernels kernels, Tensor weight, Tensor bias) {
        checkWeights(weight, bias);
        this.kernels = kernels;
        this.out = Math.toIntExact(weight.dim(0));
        this.in = Math.toIntExact(weight.dim(1));
        dnnl_primitive_desc pd;
        try (Dnnl.Scope s = new Dnnl.Scope()) {
            pd = describe(s, NOMINAL_ROWS, in, in, 1, out, null, bias != null, false, 1f, kernels.fpmathMode());
        }
        try (Dnnl.Scope s = new Dnnl.Scope()) {
            this.weights = new PackedWeights("linear [" + out + ", " + in + "]", transposedMd(s, weight), weight.address(),
                    dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0));
        } finally {
            dnnl_primitive_desc_destroy(pd);
        }
        this.bias = bias == null ? null : DnnlConv2d.copyToNative(bias);
    }

    static void checkWeights(Tensor weight, Tensor bias) {
        if (weight.rank() != 2) throw new IllegalArgumentException("linear: weight " + weight + ", expected [out, in]");
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != weight.dim(0))) {
            throw new IllegalArgumentException("linear: bias " + bias + " for weight " + weight + ", expected [" + weight.dim(0) + "]");
        }
    }

    static void checkInput(Tensor x, long in, long out, Tensor residual) {
        if (x.rank() < 1 || x.dim(-1) != in) {
            throw new IllegalArgumentException("linear [" + out + ", " + in + "]: input " + x + ", expected [.., " + in + "]");
        }
        if (residual != null && !Arrays.equals(residual.shape(), outShape(x, out))) {
            throw new IllegalArgumentException("linear [" + out + ", " + in + "]: residual " + residual + ", expected " + Arrays.toString(outShape(x, out)));
        }
    }

    static long[] outShape(Tensor x, long out) {
        long[] s = x.shape();
        s[s.length - 1] = out;
        return s;
    }

    /** {@code W [out, in]} seen as the matmul's {@code [in, out]} weights (a transposed view, no copy). */
    static dnnl_memory_desc transposedMd(Dnnl.Scope s, Tensor w) {
        return s.md(new long[]{w.dim(1), w.dim(0)}, new long[]{w.stride(1), w.stride(0)});
    }

    /**
     * The matmul {@code [m, k] (row stride srcRowStride) x [k, n] -> [m, n]} with bias and fused epilogue. Weights
     * use {@code weightsMd}, or the layout oneDNN prefers when null.
     */
    static dnnl_primitive_desc describe(Dnnl.Scope s, long m, long k, long srcRowStride, long srcColStride, long n,
                                        dnnl_memory_desc weightsMd, boolean hasBias, boolean residual, float scale, int fpmath) {
        return describe(s, m, k, srcRowStride, srcColStride, n, weightsMd, hasBias, residual, scale, fpmath, false);
    }

    /** As above; with {@code int8}, s8 source and weights with runtime scales (per-tensor source, per-column weights). */
    static dnnl_primitive_desc describe(Dnnl.Scope s, long m, long k, long srcRowStride, long srcColStride, long n,
                                        dnnl_memory_desc weightsMd, boolean hasBias, boolean residual, float scale, int fpmath,
                                        boolean int8) {
        int type = int8 ? dnnl_s8 : Dnnl.floatType(fpmath);
        dnnl_memory_desc srcMd = s.md(new long[]{m, k}, new long[]{srcRowStride, srcColStride}, type);
        dnnl_memory_desc wMd = weightsMd != null ? weightsMd : s.tag(new long[]{k, n}, dnnl_format_tag_any, type);
        dnnl_memory_desc bMd = hasBias ? s.tag(new long[]{1, n}, dnnl_ab) : null;
        dnnl_memory_desc dstMd = s.tag(new long[]{m, n}, dnnl_ab);
        dnnl_primitive_attr attr = s.attr(fpmath);
        if (int8) {
            check(dnnl_primitive_attr_set_scales_mask(attr, DNNL_ARG_SRC, 0), "set_scales_mask(src)");
            check(dnnl_primitive_attr_set_scales_mask(attr, DNNL_ARG_WEIGHTS, 1 << 1), "set_scales_mask(weights, per column)");
        }
        s.residualAndScale(attr, residual ? dstMd : null, scale);
        dnnl_primitive_desc pd = new dnnl_primitive_desc();
        check(dnnl_matmul_primitive_desc_create(pd, engine(), srcMd, wMd, bMd, dstMd, attr),
                "matmul_primitive_desc_create([" + m + ", " + k + "] x [" + k + ", " + n + "])");
        return pd;
    }

    @Override
    public int inFeatures() {
        return in;
    }

    @Override
    public int outFeatures() {
        return out;
    }

    @Override
    public Tensor forward(Workspace workspace, Tensor x, Tensor residual, float outputScale) {
        DnnlWorkspace ws = DnnlKernels.dnnl(workspace);
        checkInput(x, in, out, residual);
        try (Tensor xin = kernels.rowsOrNull(ws, x); Tensor rin = residual == null || residual.isContiguous() ? null : residual.copy(ws.allocator())) {
            Tensor src = xin != null ? xin : x;
            Tensor res = rin != null ? rin : residual;
            long m = x.numel() / in;
            long rowStride = Dnnl.rowStride(src);
            Key key = Key.of("linear").add(m).add(rowStride).add(src.stride(-1)).add(res != null).add(outputScale).build();
            Primitive p = primitives.get(key, k -> "linear [" + out + ", " + in + "] on " + x,
                    s -> describe(s, m, in, rowStride, src.stride(-1), out, null, bias != null, res != null, outputScale, kernels.fpmathMode()));
            Tensor y = Tensor.allocate(ws.allocator(), outShape(x, out));
            try {
                ArgList args = new ArgList().add(DNNL_ARG_SRC, src.address())
                        .add(DNNL_ARG_WEIGHTS, weights.address(p.argMd(DNNL_ARG_WEIGHTS)))
                        .add(DNNL_ARG_DST, y.address());
                if (bias != null) args.add(DNNL_ARG_BIAS, bias.address(0));
                if (res != null) args.add(Dnnl.postOpArg(0, DNNL_ARG_SRC_1), res.address());
                p.execute(ws, args.toArray());
                return y;
            } catch (RuntimeException e) {
                y.close();
                throw e;
            }
        }
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        primitives.close();
        weights.close();
        if (bias != null) Allocator.direct().release(bias);
    }
}
