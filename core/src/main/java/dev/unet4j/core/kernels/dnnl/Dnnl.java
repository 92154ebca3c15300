package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.tensor.Tensor;
import org.bytedeco.dnnl.dnnl_engine;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_post_ops;
import org.bytedeco.dnnl.dnnl_primitive_attr;
import org.bytedeco.javacpp.Pointer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.bytedeco.dnnl.global.dnnl.*;

/** Process-wide oneDNN state and small helpers around the C API (status checks, memory descriptors). */
final class Dnnl {
    static {
        OpenMpDefaults.beforeNativeLoad(); // before this class first loads oneDNN and its OpenMP runtime
    }

    private Dnnl() {
    }

    /** {@code DNNL_ARG_ATTR_MULTIPLE_POST_OP(idx)} (a C macro, not in the preset). */
    static int postOpArg(int index, int arg) {
        return DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE * (index + 1) | arg;
    }

    private static final class EngineHolder {
        static final dnnl_engine ENGINE = createEngine();

        private static dnnl_engine createEngine() {
            dnnl_engine e = new dnnl_engine();
            check(dnnl_engine_create(e, dnnl_cpu, 0), "engine_create(cpu, 0)");
            return e; // lives as long as the process
        }
    }

    /** The one CPU engine of this process. */
    static dnnl_engine engine() {
        return EngineHolder.ENGINE;
    }

    static void check(int status, String op) {
        if (status != dnnl_success) {
            throw new DnnlException(status, "oneDNN " + op + " failed: " + statusName(status));
        }
    }

    static String statusName(int status) {
        if (status == dnnl_out_of_memory) return "out_of_memory";
        if (status == dnnl_invalid_arguments) return "invalid_arguments";
        if (status == dnnl_unimplemented) return "unimplemented (no implementation for these shapes/layouts)";
        if (status == dnnl_last_impl_reached) return "last_impl_reached";
        if (status == dnnl_runtime_error) return "runtime_error";
        if (status == dnnl_not_required) return "not_required";
        return "status " + status;
    }

    /** A non-owning pointer at a native address. */
    /**
     * Our "fpmath mode" for CPUs with bf16 instructions where oneDNN does not honour {@code dnnl_fpmath_mode_bf16}
     * (AVX-512 BF16 without AMX): convolutions and matmuls get bf16 source and weight descriptors, and
     * {@link Primitive} converts the float32 source per call. Never passed to oneDNN itself.
     */
    static final int BF16_INPUTS = 0x7fff_bf16;

    /** The source/weight data type of a float convolution or matmul under {@code fpmath}. */
    static int floatType(int fpmath) {
        return fpmath == BF16_INPUTS ? dnnl_bf16 : dnnl_f32;
    }

    /** The data type of a memory descriptor ({@code dnnl_f32}, {@code dnnl_bf16}, ...). */
    static int dataType(dnnl_memory_desc md) {
        try (org.bytedeco.javacpp.IntPointer t = new org.bytedeco.javacpp.IntPointer(1)) {
            check(dnnl_memory_desc_query(md, dnnl_query_data_type, t), "memory_desc_query(data_type)");
            return t.get();
        }
    }

    /** The dimensions of a memory descriptor. */
    static long[] dims(dnnl_memory_desc md) {
        return dimsQuery(md, dnnl_query_dims, "dims");
    }

    /** The strides of a plain (strided) memory descriptor, in elements. */
    static long[] strides(dnnl_memory_desc md) {
        return dimsQuery(md, dnnl_query_strides, "strides");
    }

    private static long[] dimsQuery(dnnl_memory_desc md, int what, String name) {
        int n;
        try (org.bytedeco.javacpp.IntPointer nd = new org.bytedeco.javacpp.IntPointer(1)) {
            check(dnnl_memory_desc_query(md, dnnl_query_ndims_s32, nd), "memory_desc_query(ndims)");
            n = nd.get();
        }
        try (org.bytedeco.javacpp.PointerPointer<?> pp = new org.bytedeco.javacpp.PointerPointer<>(1)) {
            check(dnnl_memory_desc_query(md, what, pp), "memory_desc_query(" + name + ")");
            org.bytedeco.javacpp.LongPointer values = new org.bytedeco.javacpp.LongPointer(pp.get(0));
            long[] out = new long[n];
            values.get(out);
            return out;
        }
    }

    static Pointer at(long addr) {
        return new Pointer() {
            {
                this.address = addr;
            }
        };
    }

    static String shapes(Tensor... ts) {
        StringBuilder sb = new StringBuilder();
        for (Tensor t : ts) {
            if (sb.length() > 0) sb.append(", ");
            sb.append(t == null ? "null" : t.toString());
        }
        return sb.toString();
    }

    /** Row-major strides, or channels-last for a 4-D tensor that already is channels-last. */
    static boolean isDense(Tensor t) {
        return t.isContiguous() || t.isChannelsLast();
    }

    /**
     * Whether all leading dimensions of {@code t} fold into one row dimension M, so {@code t} is an {@code [M, last]}
     * matrix with row stride {@link #rowStride}.
     */
    static boolean foldsToRows(Tensor t) {
        long[] d = t.shape(), st = t.strides();
        for (int i = 0; i + 2 < d.length; i++) {
            if (d[i] != 1 && st[i] != st[i + 1] * d[i + 1]) return false;
        }
        return true;
    }

    /** Row stride of a tensor for which {@link #foldsToRows} holds. */
    static long rowStride(Tensor t) {
        if (t.rank() < 2) return Math.max(1, t.dim(-1));
        long[] d = t.shape(), st = t.strides();
        // a leading dimension of size 1 may carry any stride; the rows are then spaced by the next one
        for (int i = d.length - 2; i >= 0; i--) {
            if (d[i] != 1) return st[i];
        }
        return Math.max(1, d[d.length - 1]) * st[d.length - 1];
    }

    /**
     * Strides with every size-1 dimension given the stride a row-major tensor would have there (the span of the
     * dimensions after it). Such strides never address memory, but oneDNN matches descriptors on them: a broadcast
     * operand with stride 0 in a size-1 dimension is "strided" and sends binary ops to the slow {@code ref:any}.
     */
    static long[] canonicalStrides(long[] shape, long[] strides) {
        long[] st = strides.clone();
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] != 1) continue;
            long inner = 1;
            for (int j = i + 1; j < shape.length; j++) {
                if (shape[j] != 1) inner = Math.max(inner, st[j] * shape[j]);
            }
            st[i] = inner;
        }
        return st;
    }

    static long[] channelsLastStrides(long[] d) {
        return new long[]{d[1] * d[2] * d[3], 1, d[3] * d[1], d[1]};
    }

    /**
     * Collects the native objects made while building one primitive descriptor (memory descriptors,
     * attributes, post-op lists) and destroys them together: oneDNN copies what it needs into the descriptor.
     */
    static final class Scope implements AutoCloseable {
        private final List<dnnl_memory_desc> mds = new ArrayList<>();
        private final List<dnnl_primitive_attr> attrs = new ArrayList<>();
        private final List<dnnl_post_ops> postOps = new ArrayList<>();

        dnnl_memory_desc md(long[] dims, long[] strides) {
            return md(dims, strides, dnnl_f32);
        }

        dnnl_memory_desc md(long[] dims, long[] strides, int dataType) {
            dnnl_memory_desc md = new dnnl_memory_desc();
            check(dnnl_memory_desc_create_with_strides(md, dims.length, dims, dataType, strides),
                    "memory_desc_create_with_strides(" + Arrays.toString(dims) + ", strides " + Arrays.toString(strides) + ")");
            mds.add(md);
            return md;
        }

        /**
         * {@code t}'s descriptor, with {@link #canonicalStrides canonical strides} for its size-1 dimensions. NHWC
         * tensors keep their own strides, which are already the natural ones: row-major canonical strides would give
         * a size-1 W (or H) the channel stride 1, and oneDNN then misreads the layout (a [N, C, H, 1] NHWC source of
         * a resampling or reorder produced garbage).
         */
        dnnl_memory_desc md(Tensor t) {
            if (t.isChannelsLast()) return md(t.shape(), t.strides());
            return md(t.shape(), canonicalStrides(t.shape(), t.strides()));
        }

        dnnl_memory_desc tag(long[] dims, int tag) {
            return tag(dims, tag, dnnl_f32);
        }

        dnnl_memory_desc tag(long[] dims, int tag, int dataType) {
            dnnl_memory_desc md = new dnnl_memory_desc();
            check(dnnl_memory_desc_create_with_tag(md, dims.length, dims, dataType, tag),
                    "memory_desc_create_with_tag(" + Arrays.toString(dims) + ", tag " + tag + ")");
            mds.add(md);
            return md;
        }

        /**
         * Attributes every primitive gets: user scratchpad (per-workspace, so shared primitives are thread-safe).
         * {@link #BF16_INPUTS} computes like strict here: its down-conversion is in the data types, not the attribute.
         */
        dnnl_primitive_attr attr(int fpmathMode) {
            dnnl_primitive_attr a = new dnnl_primitive_attr();
            check(dnnl_primitive_attr_create(a), "primitive_attr_create");
            attrs.add(a);
            check(dnnl_primitive_attr_set_scratchpad_mode(a, dnnl_scratchpad_mode_user), "set_scratchpad_mode(user)");
            int mode = fpmathMode == BF16_INPUTS ? dnnl_fpmath_mode_strict : fpmathMode;
            check(dnnl_primitive_attr_set_fpmath_mode(a, mode), "set_fpmath_mode(" + mode + ")");
            return a;
        }

        dnnl_primitive_attr attr() {
            return attr(dnnl_fpmath_mode_strict);
        }

        dnnl_post_ops postOps() {
            dnnl_post_ops p = new dnnl_post_ops();
            check(dnnl_post_ops_create(p), "post_ops_create");
            postOps.add(p);
            return p;
        }

        /**
         * The fused epilogue {@code (y + residual) * scale}: a binary-add post-op whose src1 is {@code residualMd}
         * (argument {@link #postOpArg postOpArg(0, DNNL_ARG_SRC_1)}), then a linear eltwise when scale is not 1.
         */
        void residualAndScale(dnnl_primitive_attr attr, dnnl_memory_desc residualMd, float scale) {
            if (residualMd == null && scale == 1f) return;
            dnnl_post_ops po = postOps();
            if (residualMd != null) check(dnnl_post_ops_append_binary(po, dnnl_binary_add, residualMd), "post_ops_append_binary(add)");
            if (scale != 1f) check(dnnl_post_ops_append_eltwise(po, dnnl_eltwise_linear, scale, 0f), "post_ops_append_eltwise(linear)");
            check(dnnl_primitive_attr_set_post_ops(attr, po), "primitive_attr_set_post_ops");
        }

        @Override
        public void close() {
            for (dnnl_memory_desc md : mds) dnnl_memory_desc_destroy(md);
            for (dnnl_primitive_attr a : attrs) dnnl_primitive_attr_destroy(a);
            for (dnnl_post_ops p : postOps) dnnl_post_ops_destroy(p);
            mds.clear();
            attrs.clear();
            postOps.clear();
        }
    }
}
