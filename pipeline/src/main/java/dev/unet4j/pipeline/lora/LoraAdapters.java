package dev.unet4j.pipeline.lora;

import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.pipeline.lora.LoraFile.Component;
import dev.unet4j.unet.LayerAdapter;
import dev.unet4j.unet.ParameterSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link LoraSet} prepared for one model's layers (the {@link LayerCatalog} of each component), as one
 * {@link LayerAdapter} per component, two ways that agree:
 * <ul>
 *   <li>{@link #sidePath}: for each touched layer, {@code y = W x + Σ f_i · up_i(down_i(x))} with
 *       {@code f_i = scale_i · alpha_i / rank_i} folded into {@code up_i}; the model's weights are never read or
 *       written, so a quantized model keeps its exact quantized weights;</li>
 *   <li>{@link #merged}: a private float32 copy {@code W' = W + Σ f_i · up_i · down_i} of each touched layer, read
 *       from the model's checkpoint ({@code base}), run instead of the shared layer (one layer per step, fastest).</li>
 * </ul>
 * Every problem (unmapped module, factor shapes that do not multiply to the weight's shape, ranks that disagree,
 * malformed file entries) is reported in one {@link LoraException} before anything is prepared. Thread-safe once
 * built; close it after the generations that use it.
 */
public final class LoraAdapters implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LoraAdapters.class);

    /** A module checked against its layer: the factor {@code f}, factors as {@code [r, in·kh·kw]} / {@code [out, r]}. */
    record Resolved(LayerCatalog.Layer layer, float factor, int rank, float[] down, long[] downShape, float[] up) {
    }

    private final Map<Component, Adapter> adapters;

    private LoraAdapters(Map<Component, Adapter> adapters) {
        this.adapters = adapters;
    }

    /** The side-path adapters of {@code set} for the components in {@code catalogs}. */
    public static LoraAdapters sidePath(LoraSet set, Kernels k, Map<Component, LayerCatalog> catalogs) {
        Map<Component, Map<String, List<Resolved>>> resolved = resolve(set, catalogs);
        Map<Component, Adapter> out = new EnumMap<>(Component.class);
        try {
            for (var e : resolved.entrySet()) out.put(e.getKey(), Adapter.side(k, e.getValue()));
        } catch (RuntimeException ex) {
            out.values().forEach(Adapter::close);
            throw ex;
        }
        return new LoraAdapters(out);
    }

    /**
     * The merged adapters of {@code set}: each touched layer's weight (and bias) read from {@code base} of its
     * component under diffusers' names ({@code <path>.weight}), changed, and prepared on {@code k}.
     */
    public static LoraAdapters merged(LoraSet set, Kernels k, Map<Component, LayerCatalog> catalogs,
                                      Map<Component, ParameterSource> base) {
        Map<Component, Map<String, List<Resolved>>> resolved = resolve(set, catalogs);
        Map<Component, Adapter> out = new EnumMap<>(Component.class);
        try {
            for (var e : resolved.entrySet()) {
                ParameterSource src = base.get(e.getKey());
                if (src == null) throw new IllegalArgumentException("merged LoRA: no base weights given for the " + e.getKey());
                out.put(e.getKey(), Adapter.merged(k, e.getValue(), src));
            }
        } catch (RuntimeException ex) {
            out.values().forEach(Adapter::close);
            throw ex;
        }
        return new LoraAdapters(out);
    }

    /** The adapter of {@code c}, or null when the set touches none of its layers. */
    public LayerAdapter adapter(Component c) {
        return adapters.get(c);
    }

    /** Layers changed per component. */
    public Map<Component, Integer> touched() {
        Map<Component, Integer> m = new EnumMap<>(Component.class);
        adapters.forEach((c, a) -> m.put(c, a.size()));
        return m;
    }

    static Map<Component, Map<String, List<Resolved>>> resolve(LoraSet set, Map<Component, LayerCatalog> catalogs) {
        List<String> problems = new ArrayList<>();
        Map<Component, Map<String, List<Resolved>>> out = new EnumMap<>(Component.class);
        for (LoraSet.Entry e : set.entries()) {
            String file = e.file().file().getFileName().toString();
            problems.addAll(e.file().problems());
            for (LoraFile.Module m : e.file().modules()) {
                LayerCatalog cat = catalogs.get(m.component());
                LayerCatalog.Layer layer = cat == null ? null
                        : m.flat() ? cat.byFlatName(m.name()) : (cat.get(m.name()) != null ? cat.get(m.name()) : cat.byFlatName(LayerCatalog.flat(m.name())));
                if (layer == null && cat != null && m.flat() && m.component() == Component.UNET) layer = LdmLoraNames.resolve(cat, m.name());
                if (layer == null) {
                    String why = file + ": " + m.key() + " (" + m.component() + "): " + (cat == null ? "this model has no such component"
                            : "no layer of that name in the model");
                    if (set.strict()) problems.add(why);
                    else LOG.debug("LoRA module skipped (lenient): {}", why);
                    continue;
                }
                String bad = shapeProblem(m, layer);
                if (bad != null) {
                    problems.add(file + ": " + m.key() + " -> " + layer.path() + ": " + bad);
                    continue;
                }
                int r = m.rank();
                float f = (float) (e.scale() * (m.alpha() == null ? r : m.alpha()) / r);
                if (!Float.isFinite(f)) {
                    problems.add(file + ": " + m.key() + ": scale " + e.scale() + " x alpha " + m.alpha() + " / rank " + r
                            + " is " + f + " in float32");
                    continue;
                }
                out.computeIfAbsent(m.component(), c -> new LinkedHashMap<>()).computeIfAbsent(layer.path(), p -> new ArrayList<>())
                        .add(new Resolved(layer, f, r, m.down(), m.downShape(), m.up()));
            }
        }
        if (!problems.isEmpty()) throw new LoraException("the LoRA set does not fit the model", problems);
        return out;
    }

    /** Why {@code up · down} cannot change {@code layer}'s weight, or null. */
    static String shapeProblem(LoraFile.Module m, LayerCatalog.Layer layer) {
        long[] d = m.downShape(), u = m.upShape();
        int r = m.rank();
        String shapes = "down " + Arrays.toString(d) + ", up " + Arrays.toString(u);
        if (u[1] != r) return "ranks disagree: " + shapes + " (up's second dimension must be down's first)";
        if (u.length == 4 && (u[2] != 1 || u[3] != 1)) return "up must be [out, r] or [out, r, 1, 1]: " + shapes;
        if (u[0] != layer.out() || d[1] != layer.in()) {
            return "up·down is [" + u[0] + ", " + d[1] + "], the weight is " + Arrays.toString(layer.weightShape()) + " (" + shapes + ")";
        }
        if (layer.conv()) {
            Conv2dSpec s = layer.spec();
            if (s.groups() != 1) return "grouped convolutions take no LoRA";
            long kh = d.length == 4 ? d[2] : 1, kw = d.length == 4 ? d[3] : 1;
            if (kh != s.kernelH() || kw != s.kernelW()) {
                return "down's kernel " + kh + "x" + kw + " differs from the convolution's " + s.kernelH() + "x" + s.kernelW() + " (" + shapes + ")";
            }
        } else if (d.length == 4 && (d[2] != 1 || d[3] != 1)) {
            return "a linear layer takes [r, in] or [r, in, 1, 1] down factors: " + shapes;
        }
        return null;
    }

    @Override
    public void close() {
        adapters.values().forEach(Adapter::close);
    }

    /** One component's prepared layers: side-path branches or merged replacements. */
    static final class Adapter implements LayerAdapter, AutoCloseable {
        private final Map<String, List<Linear[]>> linearBranches = new LinkedHashMap<>();
        private final Map<String, List<Conv2d[]>> convBranches = new LinkedHashMap<>();
        private final Map<String, Linear> mergedLinears = new LinkedHashMap<>();
        private final Map<String, Conv2d> mergedConvs = new LinkedHashMap<>();
        private final List<AutoCloseable> owned = new ArrayList<>();

        static Adapter side(Kernels k, Map<String, List<Resolved>> layers) {
            Adapter a = new Adapter();
            try {
                for (var e : layers.entrySet()) {
                    for (Resolved r : e.getValue()) {
                        LayerCatalog.Layer l = r.layer();
                        float[] upScaled = scaled(r.up(), r.factor());
                        if (!l.conv()) {
                            try (Tensor dw = Tensor.of(r.down(), r.rank(), l.in());           // [r, in]
                                 Tensor uw = Tensor.of(upScaled, l.out(), r.rank())) {        // [out, r]
                                Linear down = a.own(k.linear(dw, null));
                                Linear up = a.own(k.linear(uw, null));
                                a.linearBranches.computeIfAbsent(e.getKey(), p -> new ArrayList<>()).add(new Linear[] {down, up});
                            }
                        } else {
                            Conv2dSpec s = l.spec();
                            Conv2dSpec ds = new Conv2dSpec(s.inChannels(), r.rank(), s.kernelH(), s.kernelW(), s.strideH(), s.strideW(),
                                    s.padTop(), s.padBottom(), s.padLeft(), s.padRight(), s.dilationH(), s.dilationW(), 1);
                            Conv2dSpec us = Conv2dSpec.of(r.rank(), l.out(), 1, 1, 0);
                            try (Tensor dw = Tensor.of(r.down(), ds.weightShape());         // [r, in, kh, kw]
                                 Tensor uw = Tensor.of(upScaled, us.weightShape())) {       // [out, r, 1, 1]
                                Conv2d down = a.own(k.conv2d(ds, dw, null));
                                Conv2d up = a.own(k.conv2d(us, uw, null));
                                a.convBranches.computeIfAbsent(e.getKey(), p -> new ArrayList<>()).add(new Conv2d[] {down, up});
                            }
                        }
                    }
                }
            } catch (RuntimeException ex) {
                a.close();
                throw ex;
            }
            return a;
        }

        static Adapter merged(Kernels k, Map<String, List<Resolved>> layers, ParameterSource base) {
            Adapter a = new Adapter();
            List<String> missing = new ArrayList<>();
            try {
                for (var e : layers.entrySet()) {
                    LayerCatalog.Layer l = e.getValue().get(0).layer();
                    long[] ws = l.weightShape();
                    try (Tensor w = base.load(e.getKey() + ".weight", ws); Tensor b = base.load(e.getKey() + ".bias", new long[] {l.out()})) {
                        if (w == null || w.numel() != l.out() * (ws[1] * (ws.length == 4 ? ws[2] * ws[3] : 1))) {
                            missing.add(e.getKey() + ".weight");
                            continue;
                        }
                        float[] merged = w.toFloatArray();                                   // [out, in·kh·kw]
                        for (Resolved r : e.getValue()) addProduct(merged, r, l);
                        try (Tensor mw = Tensor.of(merged, ws)) {
                            if (l.conv()) a.mergedConvs.put(e.getKey(), a.own(k.conv2d(l.spec(), mw, b)));
                            else a.mergedLinears.put(e.getKey(), a.own(k.linear(mw, b)));
                        }
                    }
                }
            } catch (RuntimeException ex) {
                a.close();
                throw ex;
            }
            if (!missing.isEmpty()) {
                a.close();
                throw new LoraException("merged LoRA: the base weights lack layers the set changes", missing);
            }
            return a;
        }

        /** {@code w += f · up · down} with {@code up [out, r]}, {@code down [r, cols]}, in double per element. */
        static void addProduct(float[] w, Resolved r, LayerCatalog.Layer l) {
            int out = l.out(), rank = r.rank(), cols = w.length / out;
            float[] up = r.up(), down = r.down();
            for (int o = 0; o < out; o++) {
                for (int c = 0; c < cols; c++) {
                    float s = 0;
                    for (int j = 0; j < rank; j++) s += up[o * rank + j] * down[j * cols + c];
                    w[o * cols + c] += r.factor() * s;
                }
            }
        }

        private static float[] scaled(float[] a, float f) {
            float[] o = new float[a.length];
            for (int i = 0; i < a.length; i++) o[i] = a[i] * f;
            return o;
        }

        private <T extends AutoCloseable> T own(T t) {
            owned.add(t);
            return t;
        }

        int size() {
            return linearBranches.size() + convBranches.size() + mergedLinears.size() + mergedConvs.size();
        }

        @Override
        public Linear linear(String path) {
            return mergedLinears.get(path);
        }

        @Override
        public Conv2d conv2d(String path) {
            return mergedConvs.get(path);
        }

        @Override
        public Tensor linearDelta(String path, Kernels k, Workspace ws, Tensor x) {
            List<Linear[]> branches = linearBranches.get(path);
            if (branches == null) return null;
            Tensor acc = null;
            for (Linear[] b : branches) {
                try (Tensor h = b[0].forward(ws, x)) {                                       // [.., r]
                    Tensor next = b[1].forward(ws, h, acc, 1f);                              // [.., out]
                    if (acc != null) acc.close();
                    acc = next;
                }
            }
            return acc;
        }

        @Override
        public Tensor conv2dDelta(String path, Kernels k, Workspace ws, Tensor x) {
            List<Conv2d[]> branches = convBranches.get(path);
            if (branches == null) return null;
            Tensor acc = null;
            for (Conv2d[] b : branches) {
                try (Tensor h = b[0].forward(ws, x)) {                                       // [N, r, H', W']
                    Tensor next = b[1].forward(ws, h, acc, 1f);                              // [N, out, H', W']
                    if (acc != null) acc.close();
                    acc = next;
                }
            }
            return acc;
        }

        @Override
        public void close() {
            for (AutoCloseable c : owned) {
                try {
                    c.close();
                } catch (Exception e) {
                    throw new IllegalStateException("closing LoRA layer " + c, e);
                }
            }
            owned.clear();
        }
    }
}
