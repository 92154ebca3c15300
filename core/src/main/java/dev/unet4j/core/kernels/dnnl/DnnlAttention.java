package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.tensor.Tensor;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_post_ops;
import org.bytedeco.dnnl.dnnl_primitive_attr;
import org.bytedeco.dnnl.dnnl_primitive_desc;

import static dev.unet4j.core.kernels.dnnl.Dnnl.check;
import static dev.unet4j.core.kernels.dnnl.Dnnl.engine;
import static org.bytedeco.dnnl.global.dnnl.*;

/**
 * Batched matmul and multi-head attention on oneDNN matmul primitives. Heads are strided 4-D views of the
 * {@code [B, T, H*D]} token tensors ({@code [B, H, T, D]} with strides {@code [T*C, D, C, 1]}), so no transpose is
 * ever copied; the output is written straight into {@code [B, Tq, H*D]}.
 */
final class DnnlAttention {
    /** Scores of all heads up to this size are computed in one block; larger go one (batch, head) at a time. */
    private static final long ALL_HEADS_MAX_BYTES = 4L << 20;
    /** Per-head score block: fits a core's L2 with room for the Q/K/V rows. */
    private static final long HEAD_BLOCK_BYTES = 1L << 20;

    private final DnnlKernels kernels;

    DnnlAttention(DnnlKernels kernels) {
        this.kernels = kernels;
    }

    Tensor matmul(DnnlWorkspace ws, Tensor a, Tensor b, boolean transposeB, float alpha) {
        long k = a.rank() == 3 ? a.dim(2) : -1;
        long bk = b.rank() == 3 ? b.dim(transposeB ? 2 : 1) : -2;
        if (a.rank() != 3 || b.rank() != 3 || k != bk || (b.dim(0) != a.dim(0) && b.dim(0) != 1)) {
            throw new IllegalArgumentException("matmul: a " + a + ", b " + b + (transposeB ? " (transposed)" : "")
                    + ": expected a [B, M, K] and b " + (transposeB ? "[B or 1, N, K]" : "[B or 1, K, N]"));
        }
        long bb = a.dim(0), m = a.dim(1), n = b.dim(transposeB ? 1 : 2);
        // b as [Bb, K, N] whatever its storage: a transposed b is just swapped strides
        long[] bDims = {b.dim(0), k, n};
        long[] bStrides = transposeB ? new long[]{b.stride(0), b.stride(2), b.stride(1)} : b.strides();
        Tensor bView = b.view(bDims, bStrides, b.offset());
        Tensor out = Tensor.allocate(ws.allocator(), bb, m, n);
        if (out.numel() == 0) return out;
        if (k == 0) {
            out.fill(0f);
            return out;
        }
        int fpmath = kernels.fpmathMode();
        Key key = Key.of("matmul").add(a).add(bView).add(alpha).add(fpmath).build();
        Primitive p = kernels.cache().get(key, kk -> "matmul " + a + " x " + b + (transposeB ? "^T" : ""), s -> {
            dnnl_primitive_attr attr = s.attr(fpmath);
            s.residualAndScale(attr, null, alpha);
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            check(dnnl_matmul_primitive_desc_create(pd, engine(), s.md(a), s.md(bView), null, s.md(out), attr),
                    "matmul_primitive_desc_create(" + a + " x " + bView + ")");
            return pd;
        });
        return DnnlPointwise.run(ws, p, out, DNNL_ARG_SRC, a.address(), DNNL_ARG_WEIGHTS, bView.address(), DNNL_ARG_DST, out.address());
    }

    Tensor attention(DnnlWorkspace ws, Tensor q, Tensor k, Tensor v, int heads, float scale, Tensor bias) {
        checkAttention(q, k, v, heads, bias);
        try (Tensor qc = lastStrideOne(ws, q); Tensor kc = lastStrideOne(ws, k); Tensor vc = lastStrideOne(ws, v)) {
            return run(ws, qc != null ? qc : q, kc != null ? kc : k, vc != null ? vc : v, heads, scale, bias);
        }
    }

    private static void checkAttention(Tensor q, Tensor k, Tensor v, int heads, Tensor bias) {
        boolean ok = q.rank() == 3 && k.rank() == 3 && v.rank() == 3 && heads > 0
                && q.dim(2) % heads == 0 && k.dim(2) == q.dim(2) && v.dim(2) == q.dim(2)
                && k.dim(0) == q.dim(0) && v.dim(0) == q.dim(0) && v.dim(1) == k.dim(1);
        if (!ok) {
            throw new IllegalArgumentException("attention: q " + q + ", k " + k + ", v " + v + ", heads " + heads
                    + ": expected q [B, Tq, H*D], k and v [B, Tk, H*D] with H*D divisible by heads");
        }
        if (bias != null && !(java.util.Arrays.equals(bias.shape(), new long[]{q.dim(0), k.dim(1)})
                || java.util.Arrays.equals(bias.shape(), new long[]{q.dim(0), q.dim(1), k.dim(1)}))) {
            throw new IllegalArgumentException("attention: bias " + bias + ", expected [" + q.dim(0) + ", " + k.dim(1) + "] or ["
                    + q.dim(0) + ", " + q.dim(1) + ", " + k.dim(1) + "]");
        }
    }

    /** A copy when the channel stride is not 1 (the head views need unit stride inside a head). */
    private Tensor lastStrideOne(DnnlWorkspace ws, Tensor t) {
        return t.stride(2) == 1 ? null : kernels.reorderInto(ws, t, Tensor.allocate(ws.allocator(), t.shape()));
    }

    private Tensor run(DnnlWorkspace ws, Tensor q, Tensor k, Tensor v, int heads, float scale, Tensor bias) {
        long b = q.dim(0), tq = q.dim(1), tk = k.dim(1), c = q.dim(2), d = c / heads, h = heads;
        Tensor out = Tensor.allocate(ws.allocator(), b, tq, c);
        if (out.numel() == 0) return out;
        long budget = kernels.options().attentionScoreBytes();
        // all heads in one block while the scores stay cache-sized; beyond, one (batch, head) at a time in blocks of
        // query rows small enough that the scores QK^T writes are still in L2 when softmax and PV read them
        boolean perHead = (double) Float.BYTES * b * h * tq * tk > Math.min(ALL_HEADS_MAX_BYTES, budget);
        long rowsPerChunk = perHead ? Math.max(1, Math.min(tq, Math.min(budget, HEAD_BLOCK_BYTES) / (Float.BYTES * Math.max(1, tk))))
                : tq;
        long groups = perHead ? b * h : 1, gb = perHead ? 1 : b, gh = perHead ? 1 : h;
        // K and V of a group are the matmuls' weights for every chunk of query rows: with more than one chunk they are
        // reordered once per group into the blocked layout the primitives want (oneDNN would otherwise repack the
        // strided head view on every call); a single chunk reads the strided views directly (layout rows 0). Under
        // bf16 inputs (AVX-512 BF16 without AMX) they are always packed: that reorder is also their bf16 conversion,
        // and Q and the probabilities are converted per chunk by the primitives (Primitive's bf16 source)
        boolean pack = tq > rowsPerChunk || kernels.fpmathMode() == Dnnl.BF16_INPUTS;
        long layoutRows = pack ? rowsPerChunk : 0;
        long[] full = {gb, gh, rowsPerChunk, tk}, tail = {gb, gh, tq % rowsPerChunk, tk};
        Primitive qkFull = scoresPrimitive(q, k, bias, scale, full, d, null, layoutRows);
        Primitive pvFull = valuesPrimitive(v, out, full, d, null, layoutRows);
        Primitive qkTail = tail[2] == 0 ? null : scoresPrimitive(q, k, bias, scale, tail, d, qkFull.argMd(DNNL_ARG_WEIGHTS), layoutRows);
        Primitive pvTail = tail[2] == 0 ? null : valuesPrimitive(v, out, tail, d, pvFull.argMd(DNNL_ARG_WEIGHTS), layoutRows);
        Primitive packK = !pack ? null : packPrimitive(scoresKey("attention.packK", q, k, bias, scale, full, d, layoutRows), qkFull,
                new long[]{gb, gh, d, tk}, new long[]{k.stride(0), d, 1, k.stride(1)});
        Primitive packV = !pack ? null : packPrimitive(valuesKey("attention.packV", v, out, full, d, layoutRows), pvFull,
                new long[]{gb, gh, tk, d}, new long[]{v.stride(0), d, v.stride(1), 1});
        try (Tensor scores = Tensor.allocate(ws.allocator(), gb * gh * rowsPerChunk * tk);
             Tensor kPacked = !pack ? null : Tensor.allocate(ws.allocator(), (qkFull.argBytes(DNNL_ARG_WEIGHTS) + 3) / 4);
             Tensor vPacked = !pack ? null : Tensor.allocate(ws.allocator(), (pvFull.argBytes(DNNL_ARG_WEIGHTS) + 3) / 4)) {
            for (long g = 0; g < groups; g++) {
                long bi = perHead ? g / h : 0, hi = perHead ? g % h : 0;
                long qBase = q.address() + (bi * q.stride(0) + hi * d) * Float.BYTES;
                long kBase = k.address() + (bi * k.stride(0) + hi * d) * Float.BYTES;
                long vBase = v.address() + (bi * v.stride(0) + hi * d) * Float.BYTES;
                long oBase = out.address() + (bi * out.stride(0) + hi * d) * Float.BYTES;
                if (pack) {
                    packK.execute(ws, DNNL_ARG_SRC, kBase, DNNL_ARG_DST, kPacked.address());
                    packV.execute(ws, DNNL_ARG_SRC, vBase, DNNL_ARG_DST, vPacked.address());
                }
                long kWeights = pack ? kPacked.address() : kBase, vWeights = pack ? vPacked.address() : vBase;
                for (long r0 = 0; r0 < tq; r0 += rowsPerChunk) {
                    long rows = Math.min(rowsPerChunk, tq - r0);
                    long[] sDims = {gb, gh, rows, tk};
                    Primitive qk = rows == rowsPerChunk ? qkFull : qkTail;
                    ArgList args = new ArgList().add(DNNL_ARG_SRC, qBase + r0 * q.stride(1) * Float.BYTES)
                            .add(DNNL_ARG_WEIGHTS, kWeights).add(DNNL_ARG_DST, scores.address());
                    if (bias != null) {
                        long rowOffset = bias.rank() == 3 ? r0 * bias.stride(1) : 0;   // a per-query mask moves with the chunk
                        args.add(Dnnl.postOpArg(1, DNNL_ARG_SRC_1), bias.address() + (bi * bias.stride(0) + rowOffset) * Float.BYTES);
                    }
                    DnnlPointwise.run(ws, qk, out, args.toArray());

                    Tensor block = scores.view(sDims, Tensor.rowMajorStrides(sDims), 0);
                    kernels.pointwise().softmaxRows(ws, block, block);

                    Primitive pv = rows == rowsPerChunk ? pvFull : pvTail;
                    DnnlPointwise.run(ws, pv, out, DNNL_ARG_SRC, scores.address(), DNNL_ARG_WEIGHTS, vWeights,
                            DNNL_ARG_DST, oBase + r0 * c * Float.BYTES);
                }
            }
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
        return out;
    }

    /** The reorder of a strided K or V head view ({@code dims}, {@code strides}) into {@code user}'s weights layout. */
    private Primitive packPrimitive(Key key, Primitive user, long[] dims, long[] strides) {
        dnnl_memory_desc dst = user.argMd(DNNL_ARG_WEIGHTS);
        return kernels.cache().get(key, kk -> "attention pack " + java.util.Arrays.toString(dims), s -> {
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            check(dnnl_reorder_primitive_desc_create(pd, s.md(dims, strides), engine(), dst, engine(), s.attr()),
                    "reorder_primitive_desc_create(attention pack " + java.util.Arrays.toString(dims) + ")");
            return pd;
        });
    }

    /** Everything the scores primitive's layout depends on ({@code name} tells the scores from their K reorder). */
    private Key scoresKey(String name, Tensor q, Tensor k, Tensor bias, float scale, long[] sDims, long d, long layoutRows) {
        return Key.of(name).add(q.strides()).add(k.strides()).add(sDims).add(d).add(scale).add(kernels.fpmathMode())
                .add(bias == null ? new long[0] : bias.strides()).add(bias != null).add(layoutRows).build();
    }

    private Key valuesKey(String name, Tensor v, Tensor out, long[] sDims, long d, long layoutRows) {
        return Key.of(name).add(v.strides()).add(out.strides()).add(sDims).add(d).add(kernels.fpmathMode()).add(layoutRows).build();
    }

    /**
     * {@code scale * Q K^T (+ bias)} for one chunk of query rows: Q [B,H,rows,D] strided; K^T [B,H,D,Tk] the strided
     * head view when {@code layoutRows} is 0, else in {@code weightsMd} (null: the layout oneDNN prefers for chunks of
     * {@code layoutRows} rows).
     */
    private Primitive scoresPrimitive(Tensor q, Tensor k, Tensor bias, float scale, long[] sDims, long d,
                                      dnnl_memory_desc weightsMd, long layoutRows) {
        int fpmath = kernels.fpmathMode();
        Key key = scoresKey("attention.qk", q, k, bias, scale, sDims, d, layoutRows);
        return kernels.cache().get(key, kk -> "attention scores " + java.util.Arrays.toString(sDims) + " head dim " + d, s -> {
            long b = sDims[0], h = sDims[1], rows = sDims[2], tk = sDims[3];
            int type = Dnnl.floatType(fpmath);
            dnnl_memory_desc qMd = s.md(new long[]{b, h, rows, d}, new long[]{q.stride(0), d, q.stride(1), 1}, type);
            dnnl_memory_desc kMd = layoutRows == 0 ? s.md(new long[]{b, h, d, tk}, new long[]{k.stride(0), d, 1, k.stride(1)})
                    : weightsMd != null ? weightsMd : s.tag(new long[]{b, h, d, tk}, dnnl_format_tag_any, type);
            dnnl_memory_desc dstMd = s.md(sDims, Tensor.rowMajorStrides(sDims));
            dnnl_primitive_attr attr = s.attr(fpmath);
            dnnl_post_ops po = s.postOps();
            check(dnnl_post_ops_append_eltwise(po, dnnl_eltwise_linear, scale, 0f), "post_ops_append_eltwise(scale)");
            if (bias != null) {
                // [B, Tk] broadcast over heads and query rows, or [B, Tq, Tk] (this chunk's rows) over heads
                long bs0 = bias.stride(0);
                dnnl_memory_desc biasMd = bias.rank() == 2
                        ? s.md(new long[]{b, 1, 1, tk}, new long[]{bs0, bs0, bs0, bias.stride(1)})
                        : s.md(new long[]{b, 1, rows, tk}, new long[]{bs0, bs0, bias.stride(1), bias.stride(2)});
                check(dnnl_post_ops_append_binary(po, dnnl_binary_add, biasMd), "post_ops_append_binary(bias)");
            }
            check(dnnl_primitive_attr_set_post_ops(attr, po), "primitive_attr_set_post_ops");
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            check(dnnl_matmul_primitive_desc_create(pd, engine(), qMd, kMd, null, dstMd, attr), "matmul_primitive_desc_create(attention scores)");
            return pd;
        });
    }

    /** {@code P V} for one chunk: P [B,H,rows,Tk] contiguous, V [B,H,Tk,D] in {@code weightsMd} (as above), written into out's [B,H,rows,D] view. */
    private Primitive valuesPrimitive(Tensor v, Tensor out, long[] sDims, long d, dnnl_memory_desc weightsMd, long layoutRows) {
        int fpmath = kernels.fpmathMode();
        Key key = valuesKey("attention.pv", v, out, sDims, d, layoutRows);
        return kernels.cache().get(key, kk -> "attention values " + java.util.Arrays.toString(sDims) + " head dim " + d, s -> {
            long b = sDims[0], h = sDims[1], rows = sDims[2], tk = sDims[3];
            int type = Dnnl.floatType(fpmath);
            dnnl_memory_desc pMd = s.md(sDims, Tensor.rowMajorStrides(sDims), type);
            dnnl_memory_desc vMd = layoutRows == 0 ? s.md(new long[]{b, h, tk, d}, new long[]{v.stride(0), d, v.stride(1), 1})
                    : weightsMd != null ? weightsMd : s.tag(new long[]{b, h, tk, d}, dnnl_format_tag_any, type);
            dnnl_memory_desc oMd = s.md(new long[]{b, h, rows, d}, new long[]{out.stride(0), d, out.stride(1), 1});
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            check(dnnl_matmul_primitive_desc_create(pd, engine(), pMd, vMd, null, oMd, s.attr(fpmath)), "matmul_primitive_desc_create(attention values)");
            return pd;
        });
    }
}
