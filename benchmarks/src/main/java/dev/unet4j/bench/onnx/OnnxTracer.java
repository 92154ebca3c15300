package dev.unet4j.bench.onnx;

import dev.unet4j.bench.onnx.OnnxGraph.Attr;
import dev.unet4j.core.codes.WeightFormat;
import dev.unet4j.core.kernels.CodedWeightLayer;
import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.ConvLayer;
import dev.unet4j.core.kernels.ConvSpec;
import dev.unet4j.core.kernels.ForwardingLayer;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.NativeBuffer;
import dev.unet4j.core.tensor.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link Kernels} decorator that computes with its delegate and, while recording, writes each call as the ONNX
 * operators a {@code torch.onnx.export} of the diffusers module would produce (GroupNorm as Reshape +
 * InstanceNormalization + affine, SiLU as x·Sigmoid(x), swish (quick_gelu) as x·Sigmoid(βx), exact GELU through Erf, attention as MatMul/Softmax/MatMul over
 * [B, H, T, D], Linear as MatMul with a transposed weight). Build a model on it, run one forward, and the graph of that
 * forward is the model's graph: the side-by-side ONNX Runtime benchmark runs exactly our network on exactly our
 * weights. Weights of prepared layers are captured when the layer is prepared; norm parameters on first use; any
 * other tensor that no recorded node produced (the sample, the timestep projection, encoder states) becomes a graph
 * input whose recorded value {@link #inputValues()} returns. Views made outside the kernels (token views of a
 * channels-last map, GEGLU halves) are re-expressed as Reshape/Transpose/Slice of the tensor they view.
 * Per-query (causal) attention masks, and embedding lookups the model does outside the
 * kernels when declared ({@link #embeddingLookup}): the CLIP text encoder. The zoo models' operations too: N-d, depthwise, grouped and transposed convolutions, eval-mode BatchNorm, ReLU /
 * LeakyReLU / Clip / Sigmoid, max and average pooling, ReduceMean / ReduceMax, bi- and trilinear Resize. Float32
 * layers only.
 */
public final class OnnxTracer implements Kernels, AutoCloseable {
    private final Kernels k;
    private final OnnxGraph g;
    private final Map<Tensor, String> names = new IdentityHashMap<>();
    private final Map<Tensor, String> params = new IdentityHashMap<>();
    private final Map<NativeBuffer, List<Produced>> byBuffer = new IdentityHashMap<>();
    private final Map<String, Input> inputs = new LinkedHashMap<>();
    private boolean recording = true;

    private record Produced(Tensor tensor, String name, long from, long to) {
    }

    /** A graph input with the value it had when recorded: float32 {@code values}, or int64 {@code ids} (token ids). */
    public record Input(long[] shape, float[] values, long[] ids) {
        public Input(long[] shape, float[] values) {
            this(shape, values, null);
        }
    }

    /**
     * An embedding lookup computed outside the kernels ({@code table[ids] + positions[0..T)}, a Java row gather): the
     * first unrecorded tensor equal to it becomes {@code Gather} + {@code Add} on an int64 {@code input_ids} input.
     */
    private record Lookup(String idsName, long[][] ids, Tensor table, Tensor positions, float[] value) {
    }

    private Lookup lookupInput;
    private String lastName;
    private long[] lastShape;

    /** Traces into {@code dir/model.onnx} + {@code dir/weights.bin}. */
    public OnnxTracer(Kernels delegate, Path dir) {
        this.k = delegate;
        this.g = new OnnxGraph(dir, "weights.bin");
    }

    /** Stops recording: from now on a thin pass-through to the delegate. */
    public void stopRecording() {
        recording = false;
    }

    /** Marks {@code result} (a recorded tensor) as the graph output {@code name} and writes the model file. */
    public Path finish(Tensor result) {
        String n = lookup(result);
        if (n == null) throw new IllegalStateException("the traced forward's result " + result + " was not produced by a recorded kernel");
        return finish(n, result.shape());
    }

    /**
     * Marks the value the last recorded kernel call produced as the graph output, for a forward whose result leaves
     * the model as a copy made outside the kernels (the VAE's standalone result); {@code result} (that copy) must
     * have its shape.
     */
    public Path finishWithLastRecorded(Tensor result) {
        if (lastName == null) throw new IllegalStateException("nothing was recorded");
        if (!Arrays.equals(lastShape, result.shape())) {
            throw new IllegalStateException("the last recorded value is " + Arrays.toString(lastShape) + ", the result " + result);
        }
        return finish(lastName, result.shape());
    }

    private Path finish(String name, long[] shape) {
        g.output(name, shape);
        recording = false;
        Path p = g.writeModel("unet4j");
        g.close();
        return p;
    }

    /**
     * Declares an embedding lookup the model computes outside the kernels: {@code table[ids[b][t]] + positions[t]}
     * ({@code table} {@code [V, C]}, {@code positions} {@code [P, C]}, both borrowed until the trace ends). When the
     * forward first uses a tensor that no kernel produced and that equals this lookup exactly, the graph computes it
     * from an int64 input {@code idsName} {@code [B, T]} (Gather of the table, Add of the position rows) instead of
     * taking it as a float input: what {@code torch.onnx.export} of an {@code nn.Embedding} emits.
     */
    public void embeddingLookup(String idsName, long[][] ids, Tensor table, Tensor positions) {
        int b = ids.length, t = ids[0].length, c = (int) table.dim(1);
        float[] tab = table.toFloatArray(), pos = positions.toFloatArray(), v = new float[b * t * c];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                int id = (int) ids[i][j], o = (i * t + j) * c;
                for (int x = 0; x < c; x++) v[o + x] = tab[id * c + x] + pos[j * c + x];
            }
        }
        lookupInput = new Lookup(idsName, ids, table, positions, v);
    }

    public Map<String, Input> inputValues() {
        return inputs;
    }

    public int nodeCount() {
        return g.nodeCount();
    }

    @Override
    public void close() {
        g.close();
    }

    // ------------------------------------------------------------------ naming

    private String act(Tensor t) {
        String n = lookup(t);
        if (n != null) return n;
        float[] value = t.toFloatArray();
        if (lookupInput != null && Arrays.equals(value, lookupInput.value)) {
            String name = gather(lookupInput);
            lookupInput = null;
            track(t, name);
            return name;
        }
        String name = "input_" + inputs.size();
        inputs.put(name, new Input(t.shape(), value));
        g.input(name, t.shape());
        track(t, name);
        return name;
    }

    /** {@code Gather(table, ids) + positions[0..T)}: the embedding lookup {@code l} on its int64 input. */
    private String gather(Lookup l) {
        int b = l.ids.length, t = l.ids[0].length;
        long[] flat = new long[b * t];
        for (int i = 0; i < b; i++) System.arraycopy(l.ids[i], 0, flat, i * t, t);
        inputs.put(l.idsName, new Input(new long[]{b, t}, null, flat));
        g.int64Input(l.idsName, new long[]{b, t});
        String rows = g.node("Gather", param(l.table), l.idsName, Attr.i("axis", 0));                 // [B, T, C]
        String pos = g.node("Slice", List.of(param(l.positions), g.int64s(0), g.int64s(t), g.int64s(0))); // [T, C]
        return g.node("Add", rows, pos);
    }

    private String param(Tensor t) {
        return params.computeIfAbsent(t, x -> g.floats("param", x.toFloatArray(), x.shape()));
    }

    private String lookup(Tensor t) {
        String n = names.get(t);
        if (n != null) return n;
        List<Produced> ps = byBuffer.get(t.buffer());
        if (ps == null) return null;
        long from = t.offset(), to = t.offset() + t.span();
        for (int i = ps.size() - 1; i >= 0; i--) {
            Produced p = ps.get(i);
            if (p.from <= from && to <= p.to) {
                String v = viewOf(p.tensor, p.name, t);
                names.put(t, v);
                return v;
            }
        }
        return null;
    }

    /** {@code t} is the value of the recorded kernel output {@code name}. */
    private Tensor remember(Tensor t, String name) {
        lastName = name;
        lastShape = t.shape();
        return track(t, name);
    }

    private Tensor track(Tensor t, String name) {
        names.put(t, name);
        List<Produced> ps = byBuffer.computeIfAbsent(t.buffer(), b -> new ArrayList<>());
        long from = t.offset(), to = t.offset() + t.span();
        ps.removeIf(p -> p.from < to && from < p.to);      // overwritten memory no longer holds the old value
        ps.add(new Produced(t, name, from, to));
        return t;
    }

    /**
     * {@code view} re-expressed over {@code base} (same memory): {@code base} to its physical order (Transpose),
     * flattened, reshaped so each non-unit dimension of the view is one axis (plus a trailing axis when the view's
     * innermost stride is not 1), sliced to the view's offset, transposed to the view's order and reshaped to its shape.
     */
    private String viewOf(Tensor base, String baseName, Tensor view) {
        if (Arrays.equals(base.shape(), view.shape()) && Arrays.equals(base.strides(), view.strides()) && base.offset() == view.offset()) return baseName;
        Integer[] bp = order(base.shape(), base.strides());
        String x = baseName;
        if (!isIdentity(bp)) x = g.node("Transpose", x, Attr.ints("perm", toLongs(bp)));
        long total = base.numel();
        if (base.span() != total) throw new IllegalStateException("ONNX export: a view of " + base + ", which is not dense");
        // non-unit dims of the view, by stride, outermost first
        List<Integer> dims = new ArrayList<>();
        for (int i = 0; i < view.rank(); i++) if (view.dim(i) > 1) dims.add(i);
        dims.sort(Comparator.comparingLong((Integer i) -> -view.stride(i)));
        int m = dims.size();
        long inner = m == 0 ? 1 : view.stride(dims.get(m - 1));
        boolean extra = inner != 1;
        long[] ext = new long[m + (extra ? 1 : 0)];
        long[] len = new long[ext.length];
        for (int j = 0; j < m; j++) {
            long st = view.stride(dims.get(j));
            long outer = j == 0 ? -1 : view.stride(dims.get(j - 1));
            if (j > 0 && outer % st != 0) throw new IllegalStateException("ONNX export: view " + view + " of " + base + " is not a strided slice");
            ext[j] = j == 0 ? -1 : outer / st;
            len[j] = view.dim(dims.get(j));
        }
        if (extra) {
            ext[m] = inner;
            len[m] = 1;
        }
        long first = m == 0 ? 1 : view.stride(dims.get(0));
        long[] start = new long[ext.length];
        long rel = view.offset() - base.offset();
        long blocks = (total + first - 1) / first;
        long padTo = blocks * first;
        if (padTo != total) throw new IllegalStateException("ONNX export: view " + view + " of " + base + " does not tile its buffer");
        ext[0] = blocks;
        for (int j = ext.length - 1; j >= 0; j--) {
            long unit = 1;
            for (int q = j + 1; q < ext.length; q++) unit *= ext[q];
            start[j] = (rel / unit) % ext[j];
        }
        x = g.node("Reshape", x, g.int64s(ext));
        List<Long> axes = new ArrayList<>();
        for (int j = 0; j < ext.length; j++) if (start[j] != 0 || len[j] != ext[j]) axes.add((long) j);
        if (!axes.isEmpty()) {
            long[] a = axes.stream().mapToLong(Long::longValue).toArray(), s = new long[a.length], e = new long[a.length];
            for (int q = 0; q < a.length; q++) {
                s[q] = start[(int) a[q]];
                e[q] = s[q] + len[(int) a[q]];
            }
            x = g.node("Slice", List.of(x, g.int64s(s), g.int64s(e), g.int64s(a)));
        }
        if (extra) x = g.node("Reshape", x, g.int64s(Arrays.copyOf(len, m)));
        // sorted order -> the view's order of its non-unit dims
        Integer[] byView = dims.toArray(new Integer[0]);
        Integer[] inv = new Integer[m];
        for (int j = 0; j < m; j++) inv[j] = j;
        Arrays.sort(inv, Comparator.comparingInt(j -> byView[j]));
        if (!isIdentity(inv)) x = g.node("Transpose", x, Attr.ints("perm", toLongs(inv)));
        return g.node("Reshape", x, g.int64s(view.shape()));
    }

    private static Integer[] order(long[] shape, long[] strides) {
        Integer[] p = new Integer[shape.length];
        for (int i = 0; i < p.length; i++) p[i] = i;
        Arrays.sort(p, Comparator.comparingLong((Integer i) -> -strides[i]).thenComparingInt(i -> i));
        return p;
    }

    private static boolean isIdentity(Integer[] p) {
        for (int i = 0; i < p.length; i++) if (p[i] != i) return false;
        return true;
    }

    private static long[] toLongs(Integer[] p) {
        return Arrays.stream(p).mapToLong(Integer::longValue).toArray();
    }

    private static long[] ones(int rank, long c) {
        long[] s = new long[rank];
        Arrays.fill(s, 1);
        s[0] = c;
        return s;
    }

    // ------------------------------------------------------------------ emitted patterns

    private String conv(Conv2dSpec s, String x, String w, String b) {
        List<String> in = b == null ? List.of(x, w) : List.of(x, w, b);
        return g.node("Conv", in, Attr.ints("kernel_shape", s.kernelH(), s.kernelW()), Attr.ints("strides", s.strideH(), s.strideW()),
                Attr.ints("pads", s.padTop(), s.padLeft(), s.padBottom(), s.padRight()), Attr.ints("dilations", s.dilationH(), s.dilationW()),
                Attr.i("group", s.groups()));
    }

    private String epilogue(String y, Tensor residual, float outputScale) {
        if (residual != null) y = g.node("Add", y, act(residual));
        if (outputScale != 1f) y = g.node("Mul", y, g.scalar(outputScale));
        return y;
    }

    private String silu(String x) {
        return g.node("Mul", x, g.node("Sigmoid", x));
    }

    private String geluExact(String x) {
        String erf = g.node("Erf", g.node("Div", x, g.scalar((float) Math.sqrt(2.0))));
        return g.node("Mul", g.node("Mul", x, g.node("Add", erf, g.scalar(1f))), g.scalar(0.5f));
    }

    private String geluTanh(String x) {
        String cube = g.node("Mul", g.node("Mul", x, x), x);
        String inner = g.node("Mul", g.node("Add", x, g.node("Mul", cube, g.scalar(0.044715f))), g.scalar((float) Math.sqrt(2.0 / Math.PI)));
        return g.node("Mul", g.node("Mul", x, g.scalar(0.5f)), g.node("Add", g.node("Tanh", inner), g.scalar(1f)));
    }

    private String sliceLast(String x, long from, long to) {
        return g.node("Slice", List.of(x, g.int64s(from), g.int64s(to), g.int64s(-1)));
    }

    private String heads(String x, long b, long t, int h, long d, long... perm) {
        return g.node("Transpose", g.node("Reshape", x, g.int64s(b, t, h, d)), Attr.ints("perm", perm));
    }

    // ------------------------------------------------------------------ Kernels

    @Override
    public String name() {
        return k.name() + "+onnx";
    }

    @Override
    public Workspace newWorkspace(Allocator allocator) {
        return k.newWorkspace(allocator);
    }

    /** Strided copies have no recorded ONNX op: trace models with their published ops (no sub-pixel upsamplers). */
    @Override
    public void copyInto(Workspace ws, Tensor src, Tensor dst) {
        throw new UnsupportedOperationException("OnnxTracer records no strided copy; build the model with LayerFactory.subpixelUpsamplers() false");
    }

    @Override
    public Conv2d conv2d(Conv2dSpec spec, Tensor weight, Tensor bias) {
        Conv2d inner = k.conv2d(spec, weight, bias);
        String w = g.floats("conv_w", weight.toFloatArray(), weight.shape());
        String b = bias == null ? null : g.floats("conv_b", bias.toFloatArray(), bias.shape());
        return ForwardingLayer.conv2d(inner, (ws, x, residual, outputScale) -> {
            Tensor y = inner.forward(ws, x, residual, outputScale);
            return recording ? remember(y, epilogue(conv(spec, act(x), w, b), residual, outputScale)) : y;
        });
    }

    @Override
    public Linear linear(Tensor weight, Tensor bias) {
        Linear inner = k.linear(weight, bias);
        int out = (int) weight.dim(0), in = (int) weight.dim(1);
        float[] w = weight.toFloatArray(), wt = new float[w.length];
        for (int o = 0; o < out; o++) for (int i = 0; i < in; i++) wt[i * out + o] = w[o * in + i];
        String wName = g.floats("linear_wT", wt, in, out);
        String b = bias == null ? null : g.floats("linear_b", bias.toFloatArray(), bias.shape());
        return ForwardingLayer.linear(inner, (ws, x, residual, outputScale) -> {
            Tensor y = inner.forward(ws, x, residual, outputScale);
            if (!recording) return y;
            String z = g.node("MatMul", act(x), wName);
            if (b != null) z = g.node("Add", z, b);
            return remember(y, epilogue(z, residual, outputScale));
        });
    }

    @Override
    public Tensor conv2d(Workspace ws, Conv2dSpec spec, Tensor x, Tensor weight, Tensor bias, Tensor residual, float outputScale) {
        Tensor y = k.conv2d(ws, spec, x, weight, bias, residual, outputScale);
        if (!recording) return y;
        return remember(y, epilogue(conv(spec, act(x), param(weight), bias == null ? null : param(bias)), residual, outputScale));
    }

    @Override
    public Tensor linear(Workspace ws, Tensor x, Tensor weight, Tensor bias, Tensor residual, float outputScale) {
        Tensor y = k.linear(ws, x, weight, bias, residual, outputScale);
        if (!recording) return y;
        String z = g.node("MatMul", act(x), g.node("Transpose", param(weight), Attr.ints("perm", 1, 0)));
        if (bias != null) z = g.node("Add", z, param(bias));
        return remember(y, epilogue(z, residual, outputScale));
    }

    @Override
    public CodedWeightLayer codedWeightConv2d(Conv2dSpec spec, WeightFormat format, byte[] codes, float[] scales) {
        throw new UnsupportedOperationException("ONNX export covers float32 layers; " + format.label() + " conv " + spec);
    }

    @Override
    public CodedWeightLayer codedWeightLinear(WeightFormat format, byte[] codes, int out, int in, float[] scales) {
        throw new UnsupportedOperationException("ONNX export covers float32 layers; " + format.label() + " linear [" + out + ", " + in + "]");
    }

    @Override
    public Tensor groupNorm(Workspace ws, Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        Tensor y = k.groupNorm(ws, x, groups, gamma, beta, eps, silu);
        if (!recording) return y;
        long n = x.dim(0), c = x.dim(1);
        float[] one = new float[groups], zero = new float[groups];
        Arrays.fill(one, 1f);
        String z = g.node("Reshape", act(x), g.int64s(n, groups, -1));
        z = g.node("InstanceNormalization", List.of(z, g.floats("gn_one", one, groups), g.floats("gn_zero", zero, groups)), Attr.f("epsilon", eps));
        z = g.node("Reshape", z, g.int64s(x.shape()));
        long[] affine = ones(x.rank() - 1, c);
        if (gamma != null) z = g.node("Mul", z, g.node("Reshape", param(gamma), g.int64s(affine)));
        if (beta != null) z = g.node("Add", z, g.node("Reshape", param(beta), g.int64s(affine)));
        return remember(y, silu ? silu(z) : z);
    }

    @Override
    public Tensor layerNorm(Workspace ws, Tensor x, Tensor gamma, Tensor beta, float eps) {
        Tensor y = k.layerNorm(ws, x, gamma, beta, eps);
        if (!recording) return y;
        long c = x.dim(x.rank() - 1);
        float[] one = new float[(int) c], zero = new float[(int) c];
        Arrays.fill(one, 1f);
        String gm = gamma == null ? g.floats("ln_one", one, c) : param(gamma);
        String bt = beta == null ? g.floats("ln_zero", zero, c) : param(beta);
        return remember(y, g.node("LayerNormalization", List.of(act(x), gm, bt), Attr.i("axis", -1), Attr.f("epsilon", eps)));
    }

    @Override
    public Tensor silu(Workspace ws, Tensor x) {
        Tensor y = k.silu(ws, x);
        return recording ? remember(y, silu(act(x))) : y;
    }

    /** {@code x * Sigmoid(beta * x)}: torch's export of transformers' {@code quick_gelu} (beta 1.702). */
    @Override
    public Tensor swish(Workspace ws, Tensor x, float beta) {
        Tensor y = k.swish(ws, x, beta);
        if (!recording) return y;
        String in = act(x);
        return remember(y, g.node("Mul", in, g.node("Sigmoid", g.node("Mul", in, g.scalar(beta)))));
    }

    @Override
    public Tensor gelu(Workspace ws, Tensor x, boolean exact) {
        Tensor y = k.gelu(ws, x, exact);
        return recording ? remember(y, exact ? geluExact(act(x)) : geluTanh(act(x))) : y;
    }

    @Override
    public Tensor geglu(Workspace ws, Tensor x) {
        Tensor y = k.geglu(ws, x);
        if (!recording) return y;
        long d = x.dim(x.rank() - 1) / 2;
        String in = act(x);
        return remember(y, g.node("Mul", sliceLast(in, 0, d), geluExact(sliceLast(in, d, 2 * d))));
    }

    @Override
    public Tensor softmax(Workspace ws, Tensor x) {
        Tensor y = k.softmax(ws, x);
        return recording ? remember(y, g.node("Softmax", act(x), Attr.i("axis", -1))) : y;
    }

    @Override
    public Tensor matmul(Workspace ws, Tensor a, Tensor b, boolean transposeB, float alpha) {
        Tensor y = k.matmul(ws, a, b, transposeB, alpha);
        if (!recording) return y;
        String bb = act(b);
        if (transposeB) bb = g.node("Transpose", bb, Attr.ints("perm", 0, 2, 1));
        String z = g.node("MatMul", act(a), bb);
        return remember(y, alpha == 1f ? z : g.node("Mul", z, g.scalar(alpha)));
    }

    @Override
    public Tensor attention(Workspace ws, Tensor q, Tensor kk, Tensor v, int heads, float scale, Tensor bias) {
        Tensor y = k.attention(ws, q, kk, v, heads, scale, bias);
        if (!recording) return y;
        long b = q.dim(0), tq = q.dim(1), tk = kk.dim(1), d = q.dim(2) / heads;
        String qh = heads(act(q), b, tq, heads, d, 0, 2, 1, 3);            // [B, H, Tq, D]
        String kt = heads(act(kk), b, tk, heads, d, 0, 2, 3, 1);          // [B, H, D, Tk]
        String vh = heads(act(v), b, tk, heads, d, 0, 2, 1, 3);           // [B, H, Tk, D]
        String s = g.node("Mul", g.node("MatMul", qh, kt), g.scalar(scale));
        // a [B, Tk] mask (padding) is the same for every query row, a [B, Tq, Tk] one (causal) is not; both for every head
        if (bias != null) s = g.node("Add", s, g.node("Reshape", act(bias), g.int64s(b, 1, bias.rank() == 3 ? tq : 1, tk)));
        String o = g.node("MatMul", g.node("Softmax", s, Attr.i("axis", -1)), vh);
        o = g.node("Transpose", o, Attr.ints("perm", 0, 2, 1, 3));
        return remember(y, g.node("Reshape", o, g.int64s(b, tq, heads * d)));
    }

    @Override
    public Tensor upsampleNearest(Workspace ws, Tensor x, int outH, int outW) {
        Tensor y = k.upsampleNearest(ws, x, outH, outW);
        if (!recording) return y;
        return remember(y, g.node("Resize", List.of(act(x), "", "", g.int64s(x.dim(0), x.dim(1), outH, outW)),
                Attr.s("mode", "nearest"), Attr.s("coordinate_transformation_mode", "asymmetric"), Attr.s("nearest_mode", "floor")));
    }

    @Override
    public Tensor avgPool2d(Workspace ws, Tensor x, int kernel, int stride) {
        Tensor y = k.avgPool2d(ws, x, kernel, stride);
        return recording ? remember(y, g.node("AveragePool", act(x), Attr.ints("kernel_shape", kernel, kernel), Attr.ints("strides", stride, stride))) : y;
    }

    @Override
    public Tensor concat(Workspace ws, Tensor a, Tensor b) {
        Tensor y = k.concat(ws, a, b);
        return recording ? remember(y, g.node("Concat", List.of(act(a), act(b)), Attr.i("axis", 1))) : y;
    }

    @Override
    public Tensor add(Workspace ws, Tensor a, Tensor b, float alpha, float beta) {
        Tensor y = k.add(ws, a, b, alpha, beta);
        if (!recording) return y;
        String x = act(a), z = act(b);
        if (alpha != 1f) x = g.node("Mul", x, g.scalar(alpha));
        if (beta != 1f) z = g.node("Mul", z, g.scalar(beta));
        return remember(y, g.node("Add", x, z));
    }

    @Override
    public Tensor mul(Workspace ws, Tensor a, Tensor b) {
        Tensor y = k.mul(ws, a, b);
        return recording ? remember(y, g.node("Mul", act(a), act(b))) : y;
    }

    @Override
    public Tensor scale(Workspace ws, Tensor a, float s) {
        Tensor y = k.scale(ws, a, s);
        return recording ? remember(y, g.node("Mul", act(a), g.scalar(s))) : y;
    }

    @Override
    public Tensor scaleShift(Workspace ws, Tensor x, Tensor scale, Tensor shift) {
        Tensor y = k.scaleShift(ws, x, scale, shift);
        if (!recording) return y;
        long[] nc11 = {x.dim(0), x.dim(1), 1, 1};
        String s = g.node("Add", g.node("Reshape", act(scale), g.int64s(nc11)), g.scalar(1f));
        return remember(y, g.node("Add", g.node("Mul", act(x), s), g.node("Reshape", act(shift), g.int64s(nc11))));
    }

    @Override
    public Tensor copy(Workspace ws, Tensor x) {
        Tensor y = k.copy(ws, x);
        return recording ? remember(y, act(x)) : y;
    }

    // ---------------------------------------------- segmentation-UNet ops (zoo models)

    /** N-d (depthwise, grouped, 3-D, transposed) convolutions as Conv / ConvTranspose, torch's export of nn.ConvNd. */
    @Override
    public ConvLayer conv(ConvSpec spec, Tensor weight, Tensor bias) {
        ConvLayer inner = k.conv(spec, weight, bias);
        String w = g.floats("conv_w", weight.toFloatArray(), weight.shape());
        String b = bias == null ? null : g.floats("conv_b", bias.toFloatArray(), bias.shape());
        int r = spec.spatialDims();
        long[] kernel = new long[r], stride = new long[r], pads = new long[2 * r];
        for (int i = 0; i < r; i++) {
            kernel[i] = spec.kernel()[i];
            stride[i] = spec.stride()[i];
            pads[i] = pads[i + r] = spec.padding()[i];
        }
        return new ConvLayer() {
            @Override
            public ConvSpec spec() {
                return spec;
            }

            @Override
            public Tensor forward(Workspace ws, Tensor x) {
                Tensor y = inner.forward(ws, x);
                if (!recording) return y;
                List<String> in = b == null ? List.of(act(x), w) : List.of(act(x), w, b);
                return remember(y, g.node(spec.transposed() ? "ConvTranspose" : "Conv", in, Attr.ints("kernel_shape", kernel),
                        Attr.ints("strides", stride), Attr.ints("pads", pads), Attr.i("group", spec.groups())));
            }

            @Override
            public void close() {
                inner.close();
            }
        };
    }

    /** Eval-mode batch norm as BatchNormalization (running statistics). */
    @Override
    public Tensor batchNorm(Workspace ws, Tensor x, Tensor mean, Tensor variance, Tensor gamma, Tensor beta, float eps) {
        Tensor y = k.batchNorm(ws, x, mean, variance, gamma, beta, eps);
        if (!recording) return y;
        long c = x.dim(1);
        float[] one = new float[(int) c];
        Arrays.fill(one, 1f);
        String gm = gamma == null ? g.floats("bn_one", one, c) : param(gamma);
        String bt = beta == null ? g.floats("bn_zero", new float[(int) c], c) : param(beta);
        return remember(y, g.node("BatchNormalization", List.of(act(x), gm, bt, param(mean), param(variance)), Attr.f("epsilon", eps)));
    }

    @Override
    public Tensor leakyRelu(Workspace ws, Tensor x, float negativeSlope) {
        Tensor y = k.leakyRelu(ws, x, negativeSlope);
        if (!recording) return y;
        return remember(y, negativeSlope == 0f ? g.node("Relu", act(x)) : g.node("LeakyRelu", act(x), Attr.f("alpha", negativeSlope)));
    }

    @Override
    public Tensor clamp(Workspace ws, Tensor x, float lo, float hi) {
        Tensor y = k.clamp(ws, x, lo, hi);
        return recording ? remember(y, g.node("Clip", List.of(act(x), g.scalar(lo), g.scalar(hi)))) : y;
    }

    @Override
    public Tensor sigmoid(Workspace ws, Tensor x) {
        Tensor y = k.sigmoid(ws, x);
        return recording ? remember(y, g.node("Sigmoid", act(x))) : y;
    }

    /** MaxPool / AveragePool without padding, floor mode (ONNX's default ceil_mode 0). */
    @Override
    public Tensor pool(Workspace ws, Tensor x, boolean max, int[] kernel, int[] stride) {
        Tensor y = k.pool(ws, x, max, kernel, stride);
        if (!recording) return y;
        long[] kk = Arrays.stream(kernel).asLongStream().toArray(), ss = Arrays.stream(stride).asLongStream().toArray();
        return remember(y, g.node(max ? "MaxPool" : "AveragePool", act(x), Attr.ints("kernel_shape", kk), Attr.ints("strides", ss)));
    }

    /** ReduceMax / ReduceMean keeping the reduced axes (opset 17 takes the axes as an attribute). */
    @Override
    public Tensor reduce(Workspace ws, Tensor x, boolean max, int... dims) {
        Tensor y = k.reduce(ws, x, max, dims);
        if (!recording) return y;
        return remember(y, g.node(max ? "ReduceMax" : "ReduceMean", act(x), Attr.ints("axes", Arrays.stream(dims).asLongStream().toArray()),
                Attr.i("keepdims", 1)));
    }

    /** Bi/trilinear Resize with half-pixel centres: torch's {@code interpolate(..., align_corners=False)}. */
    @Override
    public Tensor resizeLinear(Workspace ws, Tensor x, long... size) {
        Tensor y = k.resizeLinear(ws, x, size);
        if (!recording) return y;
        long[] sizes = new long[2 + size.length];
        sizes[0] = x.dim(0);
        sizes[1] = x.dim(1);
        System.arraycopy(size, 0, sizes, 2, size.length);
        return remember(y, g.node("Resize", List.of(act(x), "", "", g.int64s(sizes)), Attr.s("mode", "linear"),
                Attr.s("coordinate_transformation_mode", "half_pixel")));
    }
}
