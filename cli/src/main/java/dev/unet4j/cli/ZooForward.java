package dev.unet4j.cli;

import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.WeightPrecision;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.LayerFactory;
import dev.unet4j.zoo.ZooModel;
import dev.unet4j.zoo.ZooSession;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code unet4j forward} on the zoo's segmentation UNets (UNet++, MK-UNet, DDoS-UNet 3-D): the input {@code x} (and any
 * {@code x_SUFFIX}, e.g. the DDoS fixture's {@code x_odd}) from the inputs file, the outputs under the fixtures' names
 * ({@code output}, {@code output.0 ...}; {@code output_SUFFIX...} for {@code x_SUFFIX}), captures of the {@code x} call.
 */
final class ZooForward {
    private static final Set<String> CLASSES = Set.of("Generic_UNetPlusPlus", "MK_UNet", "UNet");

    private ZooForward() {
    }

    /** Whether {@code folder} holds a zoo model ({@code config.json} with one of the zoo's {@code _class_name}s). */
    static boolean isZooModel(String folder) {
        if (folder == null || LoadedModel.isDemo(folder)) return false;
        Path config = Path.of(folder).resolve("config.json");
        if (!Files.isRegularFile(config)) return false;
        try {
            String cls = DiffusersConfig.load(config).className();
            return cls != null && CLASSES.contains(cls);
        } catch (IOException | IllegalArgumentException e) {
            return false; // the diffusers path reports the unreadable config
        }
    }

    /** The layer factory of {@code --quant} (null: float32 layers). */
    static LayerFactory factory(QuantSpec q, DnnlKernels kernels) {
        if (q == null || !q.quantized()) return null;
        if (q.scheme() == QuantSpec.Scheme.MIXED) {
            throw new UserException("--quant " + q.text() + ": mixed precision is not available for the segmentation UNets yet; use int8, int8-w8a8, fp8-e4m3, fp8-e5m2 or dr:N");
        }
        return q.layerFactory(kernels, q.weightSource());
    }

    static int run(PrintWriter out, boolean quiet, String folder, Path inputs, Path output, List<String> capture, QuantSpec q) throws IOException {
        long t0 = System.nanoTime();
        try (DnnlKernels kernels = LoadedModel.kernelsFor(q)) {
            LayerFactory f = factory(q, kernels);
            LoadOptions options = f == null ? LoadOptions.of(kernels) : LoadOptions.of(kernels).withLayerFactory(k -> f);
            try (ZooModel<?> model = ZooModel.load(Path.of(folder), options);
                 TensorFile in = TensorFile.open(inputs, "--inputs");
                 ZooSession session = model.newSession()) {
                if (q != null && q.quantized()) session.workspace().attributes().put(WeightPrecision.class, q.precision());
                in.allowOnly(n -> n.equals("x") || n.startsWith("x_"), "x [B, C, H, W] or [B, C, D, H, W] (and x_NAME for more calls)");
                if (!in.has("x")) throw new UserException("--inputs " + inputs + ": no tensor 'x' (the model input)");
                Set<String> names = captureNames(model, capture);
                SafetensorsWriter w = new SafetensorsWriter().order(SafetensorsWriter.Order.INSERTION);
                List<Tensor> owned = new ArrayList<>();
                try {
                    for (String input : in.names()) {
                        String suffix = input.substring(1); // "" or "_odd"
                        session.clearCapture();
                        if (input.equals("x")) session.capture(names);
                        Tensor x = in.floatTensor(input, model.inputRank());
                        owned.add(x);
                        Map<String, Tensor> result;
                        try {
                            result = session.forward(x);
                        } catch (IllegalArgumentException e) {
                            throw new UserException("--inputs " + input + ": " + e.getMessage());
                        }
                        owned.addAll(result.values());
                        for (var e : result.entrySet()) w.add("output" + suffix + e.getKey().substring("output".length()), e.getValue());
                        if (input.equals("x")) {
                            for (String n : names) {
                                Tensor t = session.captured(n);
                                if (t == null) throw new UserException("--capture " + n + ": the call did not produce it; nodes: "
                                        + String.join(", ", model.nodePaths().subList(0, Math.min(8, model.nodePaths().size()))) + ", ... (or a sub-module path)");
                                owned.add(t.copy(dev.unet4j.core.tensor.Allocator.direct()));
                                w.add(n, owned.get(owned.size() - 1));
                            }
                        }
                    }
                    Path parent = output.toAbsolutePath().getParent();
                    if (parent != null) Files.createDirectories(parent);
                    w.write(output);
                } finally {
                    owned.forEach(Tensor::close);
                }
                if (!quiet) {
                    out.printf(Locale.ROOT, "wrote %s (%s, %d tensors) in %.1f s%n", output, model.className(), w.names().size(), (System.nanoTime() - t0) / 1e9);
                    out.flush();
                }
            }
        }
        return Main.EXIT_OK;
    }

    private static Set<String> captureNames(ZooModel<?> model, List<String> capture) {
        Set<String> names = new LinkedHashSet<>();
        for (String raw : capture) {
            String n = raw.strip();
            if (n.isEmpty()) continue;
            if (n.equals("all")) names.addAll(model.nodePaths());
            else names.add(n); // node paths and sub-module paths (encoder2.0.pconv1.1, SA.call0): checked after the call
        }
        return names;
    }
}
