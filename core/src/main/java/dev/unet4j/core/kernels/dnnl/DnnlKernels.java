package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.codes.WeightFormat;
import dev.unet4j.core.kernels.CodedWeightLayer;
import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.ConvLayer;
import dev.unet4j.core.kernels.ConvSpec;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import org.bytedeco.dnnl.dnnl_primitive_desc;

import static dev.unet4j.core.kernels.dnnl.Dnnl.check;
import static dev.unet4j.core.kernels.dnnl.Dnnl.engine;
import static org.bytedeco.dnnl.global.dnnl.*;

/**
 * The production {@link Kernels} backend on oneDNN (the JavaCPP {@code org.bytedeco:dnnl} preset, C API).
 *
 * <p>Design: one CPU engine per process; every primitive is built once per (operation, shapes, layouts) and cached
 * in a concurrent map, then executed from any thread, each thread bringing its own {@link DnnlWorkspace} (stream and
 * user-managed scratchpad). Tensors are wrapped in place (no copies); 4-D results are channels-last (NHWC), the
 * layout oneDNN's AVX-512/AMX convolutions run best on. Inputs in other layouts are read through their strides, or
 * reordered to NHWC first where a primitive needs it.
 *
 * <p>Threads: the bundled oneDNN is built with OpenMP (libgomp); each primitive uses all cores unless
 * {@code OMP_NUM_THREADS} is set in the environment before the JVM starts, or {@link Options#intraOpThreads} is set
 * (Java 22+, see {@link IntraOpThreads}): e.g. 8 when running two generations side by side on 16 cores. More than
 * {@link ThreadLimit#max()} is refused with an {@link IllegalStateException} at construction. {@code ONEDNN_VERBOSE=1} prints every primitive and the
 * implementation chosen (you want {@code brg}/{@code jit:avx512}/{@code amx}, not {@code gemm}/{@code ref}).
 *
 * <p>Instances are long-lived (their primitive caches are only freed by {@link #close()}); prepared layers own
 * their weights and primitives and free them in {@code close()}.
 */
public final class DnnlKernels implements Kernels, AutoCloseable {
    static {
        OpenMpDefaults.beforeNativeLoad(); // before this class first loads oneDNN and its OpenMP runtime
    }

    /**
     * @param bf16Compute         compute convolutions and matmuls (including attention) with bf16 inputs and float32
     *                            accumulation ({@code dnnl_fpmath_mode_bf16}) on CPUs with AVX-512 BF16 / AMX; tensors
     *                            stay float32. False: exact float32 ({@code fpmath strict}).
     * @param attentionScoreBytes largest attention score block held at once: all heads {@code [B, H, Tq, Tk]} when
     *                            that fits (and is at most 4 MB, cache-sized), else one head's {@code [rows, Tk]} chunk
     *                            of query rows (at most 1 MB; SD 1.5 at 64x64 latents has 4096 x 4096 scores per head)
     * @param intraOpThreads      OpenMP threads per primitive on every thread that computes with these kernels (set on
     *                            that thread through {@link IntraOpThreads}, which needs Java 22+); 0 = leave the
     *                            thread's setting as it is ({@code OMP_NUM_THREADS}, default all cores)
     */
    public record Options(boolean bf16Compute, long attentionScoreBytes, int intraOpThreads) {
        public static final long DEFAULT_ATTENTION_SCORE_BYTES = 64L << 20;

        public Options {
            if (attentionScoreBytes <= 0) throw new IllegalArgumentException("attentionScoreBytes must be positive: " + attentionScoreBytes);
            if (intraOpThreads != 0) {
                String p = ThreadLimit.problem("intraOpThreads", intraOpThreads);
                if (p != null) throw new IllegalArgumentException(p + " (0 = OpenMP's own setting)");
            }
        }

        public Options(boolean bf16Compute, long attentionScoreBytes) {
            this(bf16Compute, attentionScoreBytes, 0);
        }

        public Options(boolean bf16Compute) {
            this(bf16Compute, DEFAULT_ATTENTION_SCORE_BYTES);
        }

        /** These options with {@code threads} OpenMP threads per primitive (0 = OpenMP's own setting). */
        public Options withIntraOpThreads(int threads) {
            return new Options(bf16Compute, attentionScoreBytes, threads);
        }

        /** Exact float32, default chunking. */
        public static Options exact() {
            return new Options(false);
        }
    }

    private final Options options;
    private final int fpmath;
    private final PrimitiveCache cache = new PrimitiveCache();
    private final DnnlPointwise pointwise = new DnnlPointwise(this);
    private final DnnlNorms norms = new DnnlNorms(this);
    private final DnnlAttention attention = new DnnlAttention(this);
    private final DnnlResampling resampling = new DnnlResampling(this);
    private final DnnlSpatial spatial = new DnnlSpatial(this);
    private final DnnlCallTimeWeights callTime = new DnnlCallTimeWeights(this);
    private final DnnlQuantizer quantizer = new DnnlQuantizer(this);

    public DnnlKernels() {
        this(Options.exact());
    }

    public DnnlKernels(Options options) {
        this(options, null);
    }

    /** {@code fpmath}: a fixed mode (tests and the CPU probe), or null to choose from the options and the CPU. */
    DnnlKernels(Options options, Integer fpmath) {
        this.options = options;
        ThreadLimit.checkEnvironment(System.getenv("OMP_NUM_THREADS")); // before the OpenMP pool exists
        Dnnl.engine(); // fail fast if the native library does not load
        if (options.intraOpThreads() > 0 && IntraOpThreads.unavailableReason() != null) {
            throw new IllegalStateException("intraOpThreads " + options.intraOpThreads() + ": " + IntraOpThreads.unavailableReason());
        }
        this.fpmath = fpmath != null ? fpmath : chooseFpmath(options);
    }

    /**
     * bf16 compute where the CPU has it: oneDNN's fpmath mode where it honours it (AMX), bf16 inputs converted per
     * call where it does not but the CPU has AVX-512 BF16 (Zen 4, Cooper Lake), float32 where the CPU has no bf16
     * instructions ({@link CpuFeatures#computeLabel} says so).
     */
    private static int chooseFpmath(Options options) {
        if (!options.bf16Compute()) return dnnl_fpmath_mode_strict;
        if (CpuFeatures.fpmathBf16Honoured()) return dnnl_fpmath_mode_bf16;
        if (CpuFeatures.hasBf16Instructions()) return Dnnl.BF16_INPUTS;
        return dnnl_fpmath_mode_strict;
    }

    public Options options() {
        return options;
    }

    /** Primitives created in this process so far, all instances (diagnostics and tests: a cached call adds none). */
    public static long primitivesCreated() {
        return Primitive.createdCount();
    }

    @Override
    public String name() {
        return options.bf16Compute() ? "onednn-bf16" : "onednn";
    }

    @Override
    public DnnlWorkspace newWorkspace(Allocator allocator) {
        return new DnnlWorkspace(allocator, options.intraOpThreads());
    }

    /** oneDNN's fpmath mode for float convolutions and matmuls, or {@link Dnnl#BF16_INPUTS}. */
    int fpmathMode() {
        return fpmath;
    }

    DnnlQuantizer quantizer() {
        return quantizer;
    }

    DnnlPointwise pointwise() {
        return pointwise;
    }

    PrimitiveCache cache() {
        return cache;
    }

    /** Sets {@link Options#intraOpThreads} on the calling thread (no-op when 0). */
    private void applyThreads() {
        if (options.intraOpThreads() > 0) IntraOpThreads.set(options.intraOpThreads());
    }

    /** The workspace as a oneDNN one, with its thread count applied to the calling thread (before any primitive is made). */
    static DnnlWorkspace dnnl(Workspace ws) {
        if (ws instanceof DnnlWorkspace d) {
            d.applyThreads();
            return d;
        }
        throw new IllegalArgumentException("DnnlKernels needs a workspace from DnnlKernels.newWorkspace, got " + (ws == null ? "null" : ws.getClass().getName()));
    }

    // ------------------------------------------------------------ layers with weights

    @Override
    public Conv2d conv2d(Conv2dSpec spec, Tensor weight, Tensor bias) {
        applyThreads(); // weight packing at load runs on this thread too
        return new DnnlConv2d(this, spec, weight, bias);
    }

    @Override
    public Linear linear(Tensor weight, Tensor bias) {
        applyThreads(); // weight packing at load runs on this thread too
        return new DnnlLinear(this, weight, bias);
    }

    @Override
    public ConvLayer conv(ConvSpec spec, Tensor weight, Tensor bias) {
        applyThreads(); // weight packing at load runs on this thread too
        return new DnnlConvNd(this, spec, weight, bias);
    }

    @Override
    public Tensor conv2d(Workspace ws, Conv2dSpec spec, Tensor x, Tensor weight, Tensor bias, Tensor residual, float outputScale) {
        return callTime.conv2d(dnnl(ws), spec, x, weight, bias, residual, outputScale);
    }

    @Override
    public Tensor linear(Workspace ws, Tensor x, Tensor weight, Tensor bias, Tensor residual, float outputScale) {
        return callTime.linear(dnnl(ws), x, weight, bias, residual, outputScale);
    }

    /** W8A32 with the int8 or FP8 codes in native memory, decoded by oneDNN per call (see {@link DnnlCodedWeightLayers}). */
    @Override
    public CodedWeightLayer codedWeightConv2d(Conv2dSpec spec, WeightFormat format, byte[] codes, float[] scales) {
        applyThreads(); // weight packing at load runs on this thread too
        return new DnnlCodedWeightLayers.Conv(this, spec, format, codes, scales);
    }

    @Override
    public CodedWeightLayer codedWeightLinear(WeightFormat format, byte[] codes, int out, int in, float[] scales) {
        applyThreads(); // weight packing at load runs on this thread too
        return new DnnlCodedWeightLayers.Linear(this, format, codes, out, in, scales);
    }

    /**
     * An int8 convolution (not part of {@link Kernels}; for the quantisation helper): {@code weightsOihw} are s8
     * values {@code [out, in/groups, kh, kw]} row-major with {@code w = q * perOutChannelScale[o]}; activations are
     * quantised per call with a dynamic per-tensor scale {@code max|x| / 127}; s8 x s8 -> f32 on VNNI/AMX. Bias,
     * residual and output scale are fused as in {@link #conv2d(Conv2dSpec, Tensor, Tensor)}. Ignores bf16Compute.
     */
    public Conv2d int8Conv2d(Conv2dSpec spec, byte[] weightsOihw, float[] perOutChannelScale, Tensor bias) {
        applyThreads(); // weight packing at load runs on this thread too
        return new DnnlInt8Layers.Int8Conv2d(this, spec, weightsOihw, perOutChannelScale, bias, DnnlInt8Layers.DYNAMIC_SCALE);
    }

    /**
     * {@link #int8Conv2d(Conv2dSpec, byte[], float[], Tensor)} with a static (calibrated) per-tensor activation scale:
     * every call quantises {@code q = rint(clamp(x * (1/activationScale), -127, 127))} (the float reciprocal, round
     * half to even, symmetric range) instead of measuring {@code max|x|}.
     */
    public Conv2d int8Conv2d(Conv2dSpec spec, byte[] weightsOihw, float[] perOutChannelScale, Tensor bias, float activationScale) {
        applyThreads(); // weight packing at load runs on this thread too
        if (!(activationScale > 0)) throw new IllegalArgumentException("int8 conv2d " + spec + ": static activation scale " + activationScale + " is not positive");
        return new DnnlInt8Layers.Int8Conv2d(this, spec, weightsOihw, perOutChannelScale, bias, activationScale);
    }

    /**
     * The N-d counterpart of {@link #int8Conv2d(Conv2dSpec, byte[], float[], Tensor)} for {@link ConvSpec} convolutions
     * (volumes; not transposed): {@code codes} s8 {@code spec.weightShape()} row-major, per-output-channel scales,
     * dynamic per-tensor activation scale; without 8-bit dot products (AVX2) the quantized operands run in float32.
     */
    public ConvLayer int8Conv(ConvSpec spec, byte[] codes, float[] perOutChannelScale, Tensor bias) {
        applyThreads(); // weight packing at load runs on this thread too
        return new DnnlInt8Layers.Int8ConvNd(this, spec, codes, perOutChannelScale, bias, DnnlInt8Layers.DYNAMIC_SCALE);
    }

    /** {@link #int8Conv(ConvSpec, byte[], float[], Tensor)} with a static activation scale, as {@link #int8Conv2d(Conv2dSpec, byte[], float[], Tensor, float)}. */
    public ConvLayer int8Conv(ConvSpec spec, byte[] codes, float[] perOutChannelScale, Tensor bias, float activationScale) {
        applyThreads(); // weight packing at load runs on this thread too
        if (!(activationScale > 0)) throw new IllegalArgumentException("int8 " + spec + ": static activation scale " + activationScale + " is not positive");
        return new DnnlInt8Layers.Int8ConvNd(this, spec, codes, perOutChannelScale, bias, activationScale);
    }

    /** The int8 linear layer: {@code weightsOutIn} s8 {@code [out, in]} row-major, per-output scales; see {@link #int8Conv2d}. */
    public Linear int8Linear(byte[] weightsOutIn, int out, int in, float[] perOutChannelScale, Tensor bias) {
        applyThreads(); // weight packing at load runs on this thread too
        return new DnnlInt8Layers.Int8Linear(this, weightsOutIn, out, in, perOutChannelScale, bias, DnnlInt8Layers.DYNAMIC_SCALE);
    }

    /** {@link #int8Linear(byte[], int, int, float[], Tensor)} with a static activation scale, as {@link #int8Conv2d(Conv2dSpec, byte[], float[], Tensor, float)}. */
    public Linear int8Linear(byte[] weightsOutIn, int out, int in, float[] perOutChannelScale, Tensor bias, float activationScale) {
        applyThreads(); // weight packing at load runs on this thread too
        if (!(activationScale > 0)) throw new IllegalArgumentException("int8 linear [" + out + ", " + in + "]: static activation scale " + activationScale + " is not positive");
        return new DnnlInt8Layers.Int8Linear(this, weightsOutIn, out, in, perOutChannelScale, bias, activationScale);
    }

    // ------------------------------------------------------------ normalisation and activations

    @Override
    public Tensor groupNorm(Workspace ws, Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        return norms.groupNorm(dnnl(ws), x, groups, gamma, beta, eps, silu);
    }

    @Override
    public Tensor layerNorm(Workspace ws, Tensor x, Tensor gamma, Tensor beta, float eps) {
        return norms.layerNorm(dnnl(ws), x, gamma, beta, eps);
    }

    @Override
    public Tensor batchNorm(Workspace ws, Tensor x, Tensor mean, Tensor variance, Tensor gamma, Tensor beta, float eps) {
        return spatial.batchNorm(dnnl(ws), x, mean, variance, gamma, beta, eps);
    }

    @Override
    public Tensor leakyRelu(Workspace ws, Tensor x, float negativeSlope) {
        return pointwise.eltwise(dnnl(ws), negativeSlope == 0f ? "relu" : "leakyRelu", x, dnnl_eltwise_relu, negativeSlope, 0f);
    }

    @Override
    public Tensor clamp(Workspace ws, Tensor x, float lo, float hi) {
        if (!(lo <= hi)) throw new IllegalArgumentException("clamp: bounds [" + lo + ", " + hi + "] are empty");
        return pointwise.eltwise(dnnl(ws), "clamp", x, dnnl_eltwise_clip_v2, lo, hi);
    }

    @Override
    public Tensor sigmoid(Workspace ws, Tensor x) {
        return pointwise.eltwise(dnnl(ws), "sigmoid", x, dnnl_eltwise_logistic, 0f, 0f);
    }

    @Override
    public Tensor silu(Workspace ws, Tensor x) {
        return pointwise.eltwise(dnnl(ws), "silu", x, dnnl_eltwise_swish, 1f, 0f);
    }

    /** One eltwise pass: oneDNN's swish is {@code x * sigmoid(alpha * x)}. */
    @Override
    public Tensor swish(Workspace ws, Tensor x, float beta) {
        if (!Float.isFinite(beta)) throw new IllegalArgumentException("swish: beta " + beta + " must be finite");
        return pointwise.eltwise(dnnl(ws), "swish", x, dnnl_eltwise_swish, beta, 0f);
    }

    @Override
    public Tensor gelu(Workspace ws, Tensor x, boolean exact) {
        return pointwise.eltwise(dnnl(ws), exact ? "gelu" : "gelu_tanh", x, exact ? dnnl_eltwise_gelu_erf : dnnl_eltwise_gelu_tanh, 0f, 0f);
    }

    @Override
    public Tensor geglu(Workspace ws, Tensor x) {
        return pointwise.geglu(dnnl(ws), x);
    }

    @Override
    public Tensor softmax(Workspace ws, Tensor x) {
        return pointwise.softmax(dnnl(ws), x);
    }

    // ------------------------------------------------------------ matmul and attention

    @Override
    public Tensor matmul(Workspace ws, Tensor a, Tensor b, boolean transposeB, float alpha) {
        return attention.matmul(dnnl(ws), a, b, transposeB, alpha);
    }

    @Override
    public Tensor attention(Workspace ws, Tensor q, Tensor k, Tensor v, int heads, float scale, Tensor bias) {
        return attention.attention(dnnl(ws), q, k, v, heads, scale, bias);
    }

    // ------------------------------------------------------------ resampling and shape ops

    @Override
    public Tensor upsampleNearest(Workspace ws, Tensor x, int outH, int outW) {
        return resampling.upsampleNearest(dnnl(ws), x, outH, outW);
    }

    @Override
    public Tensor avgPool2d(Workspace ws, Tensor x, int kernel, int stride) {
        return resampling.avgPool2d(dnnl(ws), x, kernel, stride);
    }

    @Override
    public Tensor pool(Workspace ws, Tensor x, boolean max, int[] kernel, int[] stride) {
        return spatial.pool(dnnl(ws), x, max, kernel, stride);
    }

    @Override
    public Tensor reduce(Workspace ws, Tensor x, boolean max, int... dims) {
        return spatial.reduce(dnnl(ws), x, max, dims);
    }

    @Override
    public Tensor resizeLinear(Workspace ws, Tensor x, long... size) {
        return spatial.resizeLinear(dnnl(ws), x, size);
    }

    @Override
    public Tensor concat(Workspace ws, Tensor a, Tensor b) {
        return resampling.concat(dnnl(ws), a, b);
    }

    // ------------------------------------------------------------ elementwise

    @Override
    public Tensor add(Workspace ws, Tensor a, Tensor b, float alpha, float beta) {
        return pointwise.add(dnnl(ws), a, b, alpha, beta);
    }

    @Override
    public Tensor mul(Workspace ws, Tensor a, Tensor b) {
        return pointwise.mul(dnnl(ws), a, b);
    }

    @Override
    public Tensor scale(Workspace ws, Tensor a, float s) {
        return pointwise.eltwise(dnnl(ws), "scale", a, dnnl_eltwise_linear, s, 0f);
    }

    @Override
    public Tensor scaleShift(Workspace ws, Tensor x, Tensor scale, Tensor shift) {
        return pointwise.scaleShift(dnnl(ws), x, scale, shift);
    }

    @Override
    public void copyInto(Workspace ws, Tensor src, Tensor dst) {
        if (!java.util.Arrays.equals(src.shape(), dst.shape())) {
            throw new IllegalArgumentException("copyInto: " + src + " into " + dst + ", expected the same shape");
        }
        reorderInto(dnnl(ws), src, dst);
    }

    @Override
    public Tensor copy(Workspace ws, Tensor x) {
        DnnlWorkspace d = dnnl(ws);
        Tensor out = allocateDense(d, x);
        return reorderInto(d, x, out);
    }

    // ------------------------------------------------------------ layout helpers shared by the op classes

    /** A new tensor shaped like {@code x}: channels-last for 4-D, row-major otherwise. */
    static Tensor allocateDense(DnnlWorkspace ws, Tensor x) {
        return allocateDense(ws, x.shape());
    }

    static Tensor allocateDense(DnnlWorkspace ws, long[] shape) {
        return shape.length == 4
                ? Tensor.allocateChannelsLast(ws.allocator(), shape[0], shape[1], shape[2], shape[3])
                : Tensor.allocate(ws.allocator(), shape);
    }

    /** A new tensor in the same dense layout as {@code like} (NHWC or row-major) with {@code shape}. */
    static Tensor allocateLike(DnnlWorkspace ws, Tensor like, long[] shape) {
        if (shape.length == 4 && like.isChannelsLast()) return Tensor.allocateChannelsLast(ws.allocator(), shape[0], shape[1], shape[2], shape[3]);
        return Tensor.allocate(ws.allocator(), shape);
    }

    /** Copies {@code src} into {@code dst} (same shape, any layouts) with a cached reorder; returns {@code dst}. */
    Tensor reorderInto(DnnlWorkspace ws, Tensor src, Tensor dst) {
        if (src.numel() == 0) return dst;
        Key key = Key.of("reorder").add(src).add(dst.strides()).build();
        Primitive p = cache.get(key, k -> "reorder " + src + " -> " + dst, s -> {
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            check(dnnl_reorder_primitive_desc_create(pd, s.md(src), engine(), s.md(dst), engine(), s.attr()), "reorder_primitive_desc_create");
            return pd;
        });
        try {
            p.execute(ws, DNNL_ARG_SRC, src.address(), DNNL_ARG_DST, dst.address());
            return dst;
        } catch (RuntimeException e) {
            dst.close();
            throw e;
        }
    }

    /** Null when {@code x} is null or already NHWC; otherwise an NHWC copy the caller closes. */
    Tensor channelsLastOrNull(DnnlWorkspace ws, Tensor x) {
        if (x == null || x.isChannelsLast()) return null;
        return reorderInto(ws, x, Tensor.allocateChannelsLast(ws.allocator(), x.dim(0), x.dim(1), x.dim(2), x.dim(3)));
    }

    /** Null when {@code x} is dense (row-major or NHWC); otherwise a dense copy the caller closes. */
    Tensor denseOrNull(DnnlWorkspace ws, Tensor x) {
        if (x == null || Dnnl.isDense(x)) return null;
        return reorderInto(ws, x, allocateDense(ws, x));
    }

    /** Null when {@code x}'s leading dimensions fold into matrix rows; otherwise a row-major copy. */
    Tensor rowsOrNull(DnnlWorkspace ws, Tensor x) {
        if (x == null || Dnnl.foldsToRows(x)) return null;
        return reorderInto(ws, x, Tensor.allocate(ws.allocator(), x.shape()));
    }

    /** Null when {@code x} is row-major; otherwise a row-major copy. */
    Tensor contiguousOrNull(DnnlWorkspace ws, Tensor x) {
        if (x == null || x.isContiguous()) return null;
        return reorderInto(ws, x, Tensor.allocate(ws.allocator(), x.shape()));
    }

    /** Frees every cached primitive. Prepared layers stay valid (they own theirs). */
    @Override
    public void close() {
        cache.close();
    }
}
