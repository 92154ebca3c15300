package dev.unet4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unet4j.core.io.DType;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.TensorInfo;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.CallTrace;
import dev.unet4j.unet.NodeLevel;
import dev.unet4j.unet.UNetSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

@Command(name = "inspect", sortOptions = false,
        description = {"Validates a model exactly as forward/generate load it (config, every tensor's presence, dtype and "
                + "shape; exit 1 when it would fail) and prints a config summary, the exact parameter count, MACs per "
                + "node at the config's sample_size, weight bytes per dtype, and which nodes a cache policy skips."},
        footerHeading = "%nExamples:%n",
        footer = {"  unet4j inspect", "  unet4j inspect --model ./unet2d-cond-sd-tiny", "  unet4j inspect --model ./my-unet --level unit"})
final class InspectCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Option(names = "--model", paramLabel = "DIR", defaultValue = DemoModel.NAME,
            description = "diffusers model folder, or demo-digits. Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--cache", paramLabel = "SPEC", description = "Show which nodes this cache policy skips. Default: none.")
    String cache;

    @Option(names = "--level", paramLabel = "LEVEL", defaultValue = "layer",
            description = "Deepest node level in the MACs table: stem, block, layer or unit. Default: ${DEFAULT-VALUE}.")
    String level;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        common.checkThreads(spec.commandLine().getErr());
        NodeLevel deepest = parseLevel(level);
        CacheSpec c = cache == null ? null : CacheSpec.parse(cache);
        try (DnnlKernels kernels = new DnnlKernels(); LoadedModel m = LoadedModel.load(model, null, kernels)) {
            summary(out, m);
            weights(out, m);
            macs(out, m, deepest);
            if (c != null && c.isNone()) out.println("cache none: every node is computed");
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
        JsonNode c = m.config;
        row(out, "model", m.demo ? DemoModel.NAME + " (" + m.files.folder() + ")" : m.files.folder().toString());
        row(out, "class", text(c, "_class_name") + (m.storedQuantized ? " (quantized checkpoint)" : ""));
        int[] size = m.sampleSize();
        row(out, "channels", m.unet.inChannels() + " in, " + m.unet.outChannels() + " out; sample_size "
                + (size == null ? "none" : size[0] == size[1] ? String.valueOf(size[0]) : size[0] + "x" + size[1]));
        row(out, "blocks", "down " + list(c.get("down_block_types")) + "; up " + list(c.get("up_block_types")));
        row(out, "block channels", list(c.get("block_out_channels")) + ", layers_per_block " + text(c, "layers_per_block")
                + ", norm groups " + text(c, "norm_num_groups") + ", eps " + text(c, "norm_eps"));
        row(out, "attention", m.unet.attentionModules().size() + " layers, attention_head_dim " + text(c, "attention_head_dim"));
        String cond = m.crossAttentionDim() > 0 ? "text (cross_attention_dim " + m.crossAttentionDim() + ")"
                : m.numClassEmbeds() > 0 ? "class labels 0.." + (m.numClassEmbeds() - 1) + " (num_class_embeds " + m.numClassEmbeds() + ")"
                : "none (unconditional)";
        row(out, "conditioning", cond);
        row(out, "parameters", String.valueOf(m.unet.parameterCount()));
        SchedulerConfig sc = m.schedulerConfig(null);
        row(out, "scheduler", (m.files.schedulerConfig().isPresent() ? sc.className() : "none (diffusers defaults)")
                + ", generate uses " + SamplerChoice.defaultName(sc));
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
            try (Tensor ignored = s.forward(in.inputs())) {
                trace = s.lastTrace();
            }
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

    private static void row(PrintWriter out, String key, String value) {
        out.printf(Locale.ROOT, "%-15s %s%n", key, value);
    }

    private static String text(JsonNode c, String key) {
        JsonNode v = c.get(key);
        return v == null || v.isNull() ? "null" : v.isTextual() ? v.asText() : v.toString();
    }

    private static String list(JsonNode v) {
        if (v == null || v.isNull()) return "null";
        if (!v.isArray()) return v.asText();
        List<String> l = new ArrayList<>();
        v.forEach(e -> l.add(e.asText()));
        return "(" + String.join(", ", l) + ")";
    }
}
