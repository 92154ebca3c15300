package dev.unet4j.core.kernels.dnnl;

import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;

import java.util.concurrent.atomic.AtomicLong;

import static dev.unet4j.core.kernels.dnnl.Dnnl.at;
import static dev.unet4j.core.kernels.dnnl.Dnnl.check;
import static dev.unet4j.core.kernels.dnnl.Dnnl.engine;
import static org.bytedeco.dnnl.global.dnnl.*;

/**
 * A oneDNN primitive with its descriptor. Created once per (operation, shapes) and then executed from any
 * thread: all mutable state (stream, scratchpad) comes from the calling {@link DnnlWorkspace}.
 */
final class Primitive implements AutoCloseable {
    private static final AtomicLong CREATED = new AtomicLong();
    private static final dnnl_memory_desc SCALAR_MD = scalarMd();

    private final dnnl_primitive_desc pd;
    private final dnnl_primitive primitive;
    private final long scratchpadBytes;
    private final String what;
    /** Descriptors of runtime scale arguments with more than one value (per-channel weight scales). */
    private final java.util.Map<Integer, dnnl_memory_desc> scaleMds = new java.util.concurrent.ConcurrentHashMap<>();
    /** Descriptors of the other arguments as the descriptor reports them (owned by {@code pd}). */
    private final java.util.Map<Integer, dnnl_memory_desc> argMds = new java.util.concurrent.ConcurrentHashMap<>();
    /** For a convolution or matmul with a bf16 source ({@link Dnnl#BF16_INPUTS}): the float32 to bf16 reorder of it. */
    private final Primitive sourceToBf16;
    private boolean closed;

    /** Takes ownership of {@code pd}. {@code what} names the operation and shapes for error messages. */
    Primitive(dnnl_primitive_desc pd, String what) {
        this.pd = pd;
        this.what = what;
        dnnl_primitive p = new dnnl_primitive();
        try {
            check(dnnl_primitive_create(p, pd), "primitive_create for " + what);
        } catch (RuntimeException e) {
            dnnl_primitive_desc_destroy(pd);
            throw e;
        }
        this.primitive = p;
        dnnl_memory_desc sp = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        this.scratchpadBytes = sp == null || sp.isNull() ? 0 : dnnl_memory_desc_get_size(sp);
        Primitive conversion;
        try {
            conversion = sourceConversion(pd, what);
        } catch (RuntimeException e) {
            dnnl_primitive_destroy(p);
            dnnl_primitive_desc_destroy(pd);
            throw e;
        }
        this.sourceToBf16 = conversion;
        CREATED.incrementAndGet();
    }

    /**
     * Our tensors are float32: a convolution or matmul described with a bf16 source gets it converted per call, by a
     * reorder from the same dims and strides in float32 (round to nearest even, as oneDNN's fpmath bf16 rounds).
     */
    private static Primitive sourceConversion(dnnl_primitive_desc pd, String what) {
        int kind;
        try (org.bytedeco.javacpp.IntPointer k = new org.bytedeco.javacpp.IntPointer(1)) {
            check(dnnl_primitive_desc_query(pd, dnnl_query_primitive_kind, 0, k), "query primitive_kind of " + what);
            kind = k.get();
        }
        if (kind != dnnl_convolution && kind != dnnl_matmul) return null;
        dnnl_memory_desc src = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
        if (src == null || src.isNull() || Dnnl.dataType(src) != dnnl_bf16) return null;
        try (Dnnl.Scope s = new Dnnl.Scope()) {
            dnnl_primitive_desc rpd = new dnnl_primitive_desc();
            check(dnnl_reorder_primitive_desc_create(rpd, s.md(Dnnl.dims(src), Dnnl.strides(src)), engine(), src, engine(), s.attr()),
                    "reorder_primitive_desc_create(f32 -> bf16 source of " + what + ")");
            return new Primitive(rpd, "f32 -> bf16 source of " + what);
        }
    }

    /** Primitives created in this process so far (a repeated call with cached shapes adds none). */
    static long createdCount() {
        return CREATED.get();
    }

    /** The memory descriptor this primitive expects for execution argument {@code arg}. */
    dnnl_memory_desc argMd(int arg) {
        return dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg);
    }

    /** Bytes of the memory for argument {@code arg} (e.g. blocked weights). */
    long argBytes(int arg) {
        return dnnl_memory_desc_get_size(argMd(arg));
    }

    /** oneDNN's implementation name (e.g. "brg_conv_fwd:avx512_core_amx"), for diagnostics. */
    String implementation() {
        try (PointerPointer<BytePointer> out = new PointerPointer<>(1)) {
            check(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, out), "query impl_info_str");
            return out.getString(0);
        }
    }

    /**
     * Executes with (argument id, native address) pairs, blocking until done. Memory objects wrap the caller's
     * buffers (no copies); runtime scale arguments ({@code DNNL_ARG_ATTR_SCALES | arg}) point at one float. The
     * memory objects are the workspace's, made on its first call of this primitive and re-pointed afterwards.
     */
    void execute(DnnlWorkspace ws, long... argAddressPairs) {
        if (closed) throw new IllegalStateException("oneDNN primitive used after close: " + what);
        ws.applyThreads();
        if (sourceToBf16 != null) argAddressPairs = withBf16Source(ws, argAddressPairs);
        int userArgs = argAddressPairs.length / 2;
        boolean scratch = scratchpadBytes > 0;
        ArgBinding b = ws.binding(this, argAddressPairs, scratch);
        for (int i = 0; i < userArgs; i++) b.point(i, argAddressPairs[2 * i + 1]);
        if (scratch) b.point(userArgs, ws.scratchpad(scratchpadBytes));
        check(dnnl_primitive_execute(primitive, ws.stream(), b.count(), b.args()), "execute " + what);
        check(dnnl_stream_wait(ws.stream()), "stream_wait after " + what);
    }

    /** The pairs with the float32 source replaced by its bf16 conversion in the workspace's staging buffer. */
    private long[] withBf16Source(DnnlWorkspace ws, long[] pairs) {
        for (int i = 0; i < pairs.length; i += 2) {
            if (pairs[i] != DNNL_ARG_SRC) continue;
            long staged = ws.staging(argBytes(DNNL_ARG_SRC));
            sourceToBf16.execute(ws, DNNL_ARG_FROM, pairs[i + 1], DNNL_ARG_TO, staged);
            long[] out = pairs.clone();
            out[i + 1] = staged;
            return out;
        }
        return pairs;
    }

    /** The memory descriptor for argument {@code arg} of an execution: queried once per argument. */
    dnnl_memory_desc mdFor(int arg) {
        if ((arg & DNNL_ARG_ATTR_SCALES) != 0) return scaleMds.getOrDefault(arg, SCALAR_MD);
        return argMds.computeIfAbsent(arg, this::argMd);
    }

    @Override
    public String toString() {
        return what;
    }

    /** Declares that runtime scale argument {@code arg} ({@code DNNL_ARG_ATTR_SCALES | x}) holds {@code count} floats. */
    Primitive scaleCount(int arg, long count) {
        if (count == 1) return this;
        scaleMds.computeIfAbsent(arg, a -> {
            dnnl_memory_desc md = new dnnl_memory_desc();
            check(dnnl_memory_desc_create_with_tag(md, 1, new long[]{count}, dnnl_f32, dnnl_a), "memory_desc_create_with_tag([" + count + "])");
            return md;
        });
        return this;
    }

    private static dnnl_memory_desc scalarMd() {
        dnnl_memory_desc md = new dnnl_memory_desc();
        check(dnnl_memory_desc_create_with_tag(md, 1, new long[]{1}, dnnl_f32, dnnl_a), "memory_desc_create_with_tag([1])");
        return md; // process lifetime
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (sourceToBf16 != null) sourceToBf16.close();
        dnnl_primitive_destroy(primitive);
        dnnl_primitive_desc_destroy(pd);
        scaleMds.values().forEach(org.bytedeco.dnnl.global.dnnl::dnnl_memory_desc_destroy);
        scaleMds.clear();
    }
}
