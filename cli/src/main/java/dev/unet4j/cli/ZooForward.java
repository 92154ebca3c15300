package dev.unet4j.cli;

import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.WeightPrecision;
import dev.unet4j.quantization.nn.QuantizingLayerFactory;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.unet.LoadOptions;
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

    /** The layer factory of {@code --quant} (null: float32 layers); {@code mixed:} loads int8 codes, its bits come from {@link #precision}. */
    static QuantizingLayerFactory factory(QuantSpec q, DnnlKernels kernels) {
        if (q == null || !q.quantized()) return null;
        return q.layerFactory(kernels, q.weightSource());
    }

    /** Side of the seeded calibration input of {@code mixed:} when none is given: small, as it runs (3 x layers + 2) forwards. */
    static final int CALIBRATION_2D = 64, CALIBRATION_3D = 16;

    /**
     * The weight precision the sessions of {@code quantized} (loaded through {@code f}) run at for {@code q}. For
     * {@code mixed:}, each layer's sensitivity is measured on {@code calibration} (the input being run; null: a
     * seeded random one, {@link #CALIBRATION_2D} or {@link #CALIBRATION_3D} per side) as the mean squared difference of
     * all the model's outputs against a float32 copy of the model loaded from {@code folder}, then the knapsack picks
     * each layer's bits.
     */
    static WeightPrecision precision(QuantSpec q, QuantizingLayerFactory f, ZooModel<?> quantized, Path folder, DnnlKernels kernels, Tensor calibration) throws IOException {
        if (q.scheme() != QuantSpec.Scheme.MIXED) return q.precision();
        long[] shape = ZooCommands.inputShape(quantized, String.valueOf(quantized.inputRank() == 4 ? CALIBRATION_2D : CALIBRATION_3D), 1);
        try (Tensor seeded = calibration == null ? ZooCommands.seeded(shape) : null;
             ZooModel<?> floatModel = ZooModel.load(folder, LoadOptions.of(kernels))) {
            Tensor x = calibration == null ? seeded : calibration;
            try {
                return q.mixedPrecision(f, outputs(floatModel, null, x), p -> outputs(quantized, p, x));
            } catch (IllegalArgumentException e) {
                throw new UserException("--quant " + q.text() + ": " + e.getMessage());
            }
        }
    }

    /** Every output of {@code model} on {@code x} (in {@link ZooModel#outputNames()} order), its session at {@code precision} (null: none). */
    private static List<float[]> outputs(ZooModel<?> model, WeightPrecision precision, Tensor x) {
        try (ZooSession s = model.newSession()) {
            if (precision != null) s.workspace().attributes().put(WeightPrecision.class, precision);
            Map<String, Tensor> out = s.forward(x);
            try {
                List<float[]> values = new ArrayList<>();
                for (String name : model.outputNames()) values.add(out.get(name).toFloatArray());
                return values;
            } finally {
                out.values().forEach(Tensor::close);
            }
        }
    }

    static int run(PrintWriter out, boolean quiet, String folder, Path inputs, Path output, List<String> capture, QuantSpec q) throws IOException {
        long t0 = System.nanoTime();
        try (DnnlKernels kernels = LoadedModel.kernelsFor(q)) {
            QuantizingLayerFactory f = factory(q, kernels);
            LoadOptions options = f == null ? LoadOptions.of(kernels) : LoadOptions.of(kernels).withLayerFactory(k -> f);
            try (ZooModel<?> model = ZooModel.load(Path.of(folder), options);
                 TensorFile in = TensorFile.open(inputs, "--inputs");
                 ZooSession session = model.newSession()) {
                in.allowOnly(n -> n.equals("x") || n.startsWith("x_"), "x [B, C, H, W] or [B, C, D, H, W] (and x_NAME for more calls)");
                if (!in.has("x")) throw new UserException("--inputs " + inputs + ": no tensor 'x' (the model input)");
                if (q != null && q.quantized()) {
                    try (Tensor calibration = q.scheme() == QuantSpec.Scheme.MIXED ? in.floatTensor("x", model.inputRank()) : null) {
                        session.workspace().attributes().put(WeightPrecision.class, precision(q, f, model, Path.of(folder), kernels, calibration));
                    }
                }
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
