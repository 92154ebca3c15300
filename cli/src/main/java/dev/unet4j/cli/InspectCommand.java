package dev.unet4j.cli;

import dev.unet4j.caching.CacheSession;
import dev.unet4j.caching.CallReport;
import dev.unet4j.caching.GenerationReport;
import dev.unet4j.core.io.DType;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.TensorInfo;
import dev.unet4j.core.kernels.dnnl.CpuFeatures;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.pipeline.denoising.Pipeline;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.CallTrace;
import dev.unet4j.unet.NodeLevel;
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetSession;
import dev.unet4j.unet.config.UNet2DConditionConfig;
import dev.unet4j.unet.config.UNet2DConfig;
import dev.unet4j.unet.config.UNetConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

@Command(name = "inspect", sortOptions = false, mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = {"Validates a model exactly as forward/generate load it (config, every tensor's presence, dtype and "
                + "shape; exit 1 when it would fail) and prints a config summary, the exact parameter count, MACs per "
                + "node at the config's sample_size, weight bytes per dtype, and which nodes a cache policy skips."},
        footerHeading = "%nExamples:%n",
        footer = {"  unet4j inspect", "  unet4j inspect --model ./unet2d-cond-sd-tiny --level unit",
                "  unet4j inspect --cache deepcache:interval=3 --level block"})
final class InspectCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    ModelOption model;

    @Option(names = "--cache", paramLabel = "SPEC", description = "Show which nodes this cache policy skips. Default: none.")
    String cache;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "25",
            description = "With --cache: the length of the simulated generation (the model's own scheduler). Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(names = "--level", paramLabel = "LEVEL", defaultValue = "layer",
            description = "Deepest node level in the MACs table: stem, block, layer or unit. Default: ${DEFAULT-VALUE}.")
    String level;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        common.checkThreads(spec.commandLine().getErr());
        if (ZooForward.isZooModel(model.folder)) {
            if (cache != null) throw new UserException("--cache applies to diffusion UNets, not to " + model.folder);
            return ZooCommands.inspect(out, model.folder, null);
        }
        NodeLevel deepest = parseLevel(level);
        CacheSpec c = cache == null ? null : CacheSpec.parse(cache);
        try (DnnlKernels kernels = new DnnlKernels(); LoadedModel m = LoadedModel.load(model.folder, null, kernels)) {
            summary(out, m);
            out.println("oneDNN ISA: " + CpuFeatures.isa() + (CpuFeatures.bf16Compute() ? " (bf16 compute)" : " (no bf16 compute)"));
            weights(out, m);
            macs(out, m, deepest);
            if (c != null) cachePlan(out, m, c, deepest);
        }
        out.flush();
        return Main.EXIT_OK;
    }

    private static NodeLevel parseLevel(String s) {
        try {
            return NodeLevel.valueOf(s.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UserException("--level " + s + ": use stem, block, layer or unit");
        }
    }

    private static void summary(PrintWriter out, LoadedModel m) {
        UNetConfig c = m.unet.config();
        row(out, "model", m.demo ? DemoModel.NAME + " (" + m.files.folder() + ")" : m.files.folder().toString());
        row(out, "class", c.className() + (m.storedQuantized ? " (quantized checkpoint)" : ""));
        row(out, "channels", c.inChannels() + " in, " + c.outChannels() + " out; sample_size "
                + (c.sampleSize() == null ? "none" : c.sampleSize().toString()));
        row(out, "blocks", "down " + list(c.downBlockTypes()) + "; up " + list(c.upBlockTypes()));
        String layers, groups, heads;
        if (c instanceof UNet2DConfig u) {
            layers = String.valueOf(u.layersPerBlock());
            groups = String.valueOf(u.normNumGroups());
            heads = String.valueOf(u.attentionHeadDim());
        } else {
            UNet2DConditionConfig u = (UNet2DConditionConfig) c;
            layers = list(Arrays.stream(u.layersPerBlock()).boxed().toList());
            groups = String.valueOf(u.normNumGroups());
            heads = list(Arrays.asList(u.attentionHeadDim()));
        }
        row(out, "block channels", list(Arrays.stream(c.blockOutChannels()).boxed().toList()) + ", layers_per_block " + layers
                + ", norm groups " + groups + ", eps " + c.normEps());
        row(out, "attention", m.unet.attentionModules().size() + " layers, attention_head_dim " + heads);
        String cond = m.unet.textEmbeddingDim() > 0 ? "text (cross_attention_dim " + m.unet.textEmbeddingDim() + ")"
                : m.unet.classLabelCount() > 0 ? "class labels 0.." + (m.unet.classLabelCount() - 1) + " (num_class_embeds " + m.unet.classLabelCount() + ")"
                : "none (unconditional)";
        row(out, "conditioning", cond);
        row(out, "parameters", String.valueOf(m.unet.parameterCount()));
        SchedulerConfig sc = m.schedulerConfig(null);
        row(out, "scheduler", (m.files.schedulerConfig().isPresent() ? sc.className() : "none (diffusers defaults)")
                + ", generate uses " + Samplers.unetDefault(sc));
    }

    private static void weights(PrintWriter out, LoadedModel m) throws IOException {
        Map<DType, long[]> byDtype = new TreeMap<>();
        for (Path p : m.files.weightFiles()) {
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                for (TensorInfo i : f.infos()) {
                    long[] acc = byDtype.computeIfAbsent(i.dtype(), d -> new long[2]);
                    acc[0] += i.byteLength();
                    acc[1]++;
                }
            }
        }
        List<String> parts = new ArrayList<>();
        byDtype.forEach((d, a) -> parts.add(String.format(Locale.ROOT, "%s %d bytes (%d tensors)", d.safetensorsName(), a[0], a[1])));
        row(out, "weights", String.join(", ", parts));
    }

    private static void macs(PrintWriter out, LoadedModel m, NodeLevel deepest) throws IOException {
        int[] size = m.sampleSize();
        if (size == null) {
            out.println("MACs: the config has no sample_size");
            return;
        }
        CallTrace trace;
        try (UNetSession s = m.newSession();
             BenchInputs in = BenchInputs.random(m, 1, size[0], size[1], 0)) {
            s.forward(in.inputs()).close();
            trace = s.lastTrace();
        }
        out.println();
        out.printf(Locale.ROOT, "MACs per node (batch 1, %dx%d):%n", size[0], size[1]);
        for (String path : m.unet.nodePaths()) {
            NodeLevel lvl = m.unet.nodeLevel(path);
            if (lvl.ordinal() > deepest.ordinal()) continue;
            CallTrace.NodeRecord r = trace.node(path);
            if (r == null) continue;
            String indent = "  ".repeat(lvl.ordinal());
            out.printf(Locale.ROOT, "  %-56s %,16d%n", indent + path, r.macs());
        }
        out.printf(Locale.ROOT, "  %-56s %,16d%n", "total", trace.macsDone());
    }

    /**
     * Runs the policy over a generation's calls (batch 1 at sample_size, the scheduler's timesteps, a fixed random
     * sample: schedule-driven policies decide the same on any input) and lists, per call, what it skipped.
     */
    private void cachePlan(PrintWriter out, LoadedModel m, CacheSpec c, NodeLevel deepest) {
        if (steps < 1) throw new UserException("--steps must be >= 1, got " + steps);
        int[] size = m.sampleSize();
        if (size == null) throw new UserException("--cache: the config has no sample_size to simulate a generation at");
        SchedulerConfig cfg = m.schedulerConfig(null);
        String name = Samplers.unetDefault(cfg);
        Pipeline p = Pipeline.of(m.unet, SamplerChoice.DEFAULTS.create(name, cfg));
        double[] ts = p.plan(steps, new int[] {1, m.unet.inChannels(), size[0], size[1]}).callTimesteps();
        // skips are listed down to layers (resnets, attentions, samplers), where the policies replace outputs
        NodeLevel listed = deepest.ordinal() < NodeLevel.LAYER.ordinal() ? NodeLevel.LAYER : deepest;
        List<String> nodes = m.unet.nodePaths().stream().filter(n -> m.unet.nodeLevel(n).ordinal() <= listed.ordinal()).toList();
        out.println();
        out.printf(Locale.ROOT, "cache %s over %s %d steps (%d calls), batch 1, %dx%d:%n", c.policy().spec(), name, steps, ts.length,
                size[0], size[1]);
        try (UNetSession s = m.newSession(); BenchInputs in = BenchInputs.random(m, 1, size[0], size[1], 0);
             CacheSession cache = c.open(s, ts)) {
            for (int i = 0; i < ts.length; i++) {
                UNetInputs call = in.inputs().with(in.inputs().sample(), Timestep.float64(ts[i]));
                cache.call(i, call).close(); // only the report matters
            }
            GenerationReport r = cache.report();
            for (CallReport call : r.calls()) {
                List<String> skipped = skippedNodes(nodes, call);
                out.printf(Locale.ROOT, "  call %3d  %-22s %6.1f%% MACs  %s%n", call.callIndex(), call.mode(),
                        100.0 * call.macsDone() / Math.max(1, call.fullMacs()),
                        skipped.isEmpty() ? "computes every node" : "skips " + String.join(", ", skipped));
            }
            out.printf(Locale.ROOT, "  total: %.1f%% of full MACs (predicted speedup %.2fx), peak cache %d bytes%n",
                    100.0 * r.macsDone() / Math.max(1, r.fullMacs()), r.predictedSpeedup(), r.peakBytes());
        }
    }

    /**
     * The nodes {@code call} did not compute, outermost first: a block whose every listed child was skipped is named
     * instead of its children (blocks themselves are always visited, their layers are what policies replace).
     */
    static List<String> skippedNodes(List<String> nodes, CallReport call) {
        java.util.Set<String> skipped = new java.util.HashSet<>();
        for (String n : nodes) if (!call.ran(n)) skipped.add(n);
        for (String n : nodes) {
            List<String> children = nodes.stream().filter(c -> c.startsWith(n + ".")).toList();
            if (!children.isEmpty() && skipped.containsAll(children)) skipped.add(n);
        }
        List<String> listed = new ArrayList<>();
        for (String n : nodes) {
            if (skipped.contains(n) && listed.stream().noneMatch(l -> n.startsWith(l + "."))) listed.add(n);
        }
        return listed;
    }

    private static void row(PrintWriter out, String key, String value) {
        out.printf(Locale.ROOT, "%-15s %s%n", key, value);
    }

    private static String list(List<?> v) {
        List<String> l = new ArrayList<>();
        v.forEach(e -> l.add(String.valueOf(e)));
        return "(" + String.join(", ", l) + ")";
    }
}
