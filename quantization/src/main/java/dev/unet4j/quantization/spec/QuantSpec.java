package dev.unet4j.quantization.spec;

import dev.unet4j.core.codes.WeightFormat;
import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.core.checkpoint.ModelFiles;
import dev.unet4j.core.checkpoint.ModelLocator;
import dev.unet4j.unet.config.UNetConfig;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.quantization.DoubleRounding;
import dev.unet4j.quantization.Granularity;
import dev.unet4j.quantization.QuantizedTensor;
import dev.unet4j.quantization.WeightPrecision;
import dev.unet4j.quantization.WeightQuantizer;
import dev.unet4j.quantization.mixed.LayerSensitivity;
import dev.unet4j.quantization.mixed.MixedPrecisionKnapsack;
import dev.unet4j.quantization.mixed.ModelOutputProbe;
import dev.unet4j.quantization.mixed.SensitivityAnalysis;
import dev.unet4j.quantization.mixed.SensitivityProbe;
import dev.unet4j.quantization.nn.Int8Activations;
import dev.unet4j.quantization.nn.QuantizationPlan;
import dev.unet4j.quantization.nn.QuantizedUNets;
import dev.unet4j.quantization.nn.QuantizingLayerFactory;
import dev.unet4j.quantization.nn.UNetSensitivityProbe;
import dev.unet4j.quantization.nn.WeightFootprint;
import dev.unet4j.quantization.nn.WeightSource;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetModel;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A quantization scheme by name, the one parser behind {@code --quant} and the benchmark tables. Forms:
 * <ul>
 *   <li>{@code fp32}: float32 weights and compute (the baseline);</li>
 *   <li>{@code bf16}: float32 weights, oneDNN bf16 compute with float32 accumulation (needs
 *       {@code new DnnlKernels(new DnnlKernels.Options(true))}; AVX-512 BF16 / AMX);</li>
 *   <li>{@code int8}: INT8 weights per output channel, float32 activations (W8A32), the default float32 set kept;</li>
 *   <li>{@code int8-w8a8}: INT8 weights and s8 activations (dynamic per-tensor scale) on oneDNN's int8 kernels;</li>
 *   <li>{@code fp8-e4m3}, {@code fp8-e5m2}: FP8 weights per output channel (W8A32);</li>
 *   <li>{@code dr:N}, N = 2..8: INT8 weights run at N bits by double rounding from the stored codes;</li>
 *   <li>{@code mixed:BUDGET}: INT8 weights, each layer at 8, 6, 4 or 2 bits (double rounding) chosen by a knapsack
 *       over measured model-output sensitivities, within BUDGET: a fraction of the float32 conv/linear bytes
 *       ({@code mixed:0.2}), a size ({@code mixed:300MB}, B/KB/MB/GB, 1000-based) or average weight bits
 *       ({@code mixed:5.5}, 2..8). Sizes count the layers' weights as if packed at their bit width (the resident
 *       codes stay 8-bit; the low-bit weights are derived on the fly).</li>
 * </ul>
 *
 * @param text   the spec as given
 * @param scheme the scheme
 * @param bits   weight bits for {@code dr:N}, 8 for the other quantized schemes, 32 for fp32/bf16
 * @param budget the {@code mixed:} budget, else null
 */
public record QuantSpec(String text, Scheme scheme, int bits, MixedBudget budget) {
    /** The valid forms, for error messages and help texts. */
    public static final String VALID = "fp32, bf16, int8, int8-w8a8, fp8-e4m3, fp8-e5m2, dr:N (N = 2..8), "
            + "mixed:BUDGET (a fraction of the float32 bytes in (0, 1], e.g. mixed:0.2; a size, e.g. mixed:300MB; or average weight bits in [2, 8], e.g. mixed:5.5)";
    /** Bit widths the mixed knapsack chooses from. */
    public static final int[] MIXED_BITS = {8, 6, 4, 2};
    private static final Pattern SIZE = Pattern.compile("([0-9]+(?:\\.[0-9]+)?)\\s*(b|kb|mb|gb)");

    public enum Scheme { FP32, BF16, INT8, INT8_W8A8, FP8_E4M3, FP8_E5M2, DOUBLE_ROUNDING, MIXED }

    /** A {@code mixed:} budget. */
    public record MixedBudget(Kind kind, double value) {
        public enum Kind { FRACTION_OF_FLOAT32, BYTES, AVERAGE_BITS }

        /**
         * The knapsack budget for {@code layers} (the model's INT8 layers) when {@code footprint} is the whole
         * conv/linear set: fractions and sizes cover everything, so the float32 layers, biases and scales are
         * taken off first; average bits price only the quantized weights (plus their scales).
         */
        public long knapsackBytes(WeightFootprint footprint, Map<String, QuantizedTensor> layers) {
            long codesAt8 = 0;
            for (QuantizedTensor t : layers.values()) codesAt8 += t.storageBytes();
            long fixed = footprint.residentBytes() - codesAt8;
            return switch (kind) {
                case FRACTION_OF_FLOAT32 -> (long) Math.floor(value * footprint.float32Bytes()) - fixed;
                case BYTES -> (long) Math.floor(value) - fixed;
                case AVERAGE_BITS -> {
                    long b = 0;
                    for (QuantizedTensor t : layers.values()) {
                        b += (long) Math.floor(t.channels() * (double) t.channelLength() * value / 8) + 4L * t.scales().length;
                    }
                    yield b;
                }
            };
        }
    }

    /** Thrown for a spec that is not one of {@link #VALID}. */
    public static final class InvalidQuantSpecException extends IllegalArgumentException {
        private final String spec;
        private final String reason;

        public InvalidQuantSpecException(String spec, String why) {
            super("bad quantization spec '" + spec + "': " + why + "; valid: " + VALID);
            this.spec = spec;
            this.reason = why;
        }

        /** The spec as given. */
        public String spec() {
            return spec;
        }

        /** What is wrong with it, without the list of valid forms (callers that word their own message). */
        public String reason() {
            return reason;
        }
    }

    /** Parses {@code spec} (case-insensitive, surrounding blanks ignored). */
    public static QuantSpec parse(String spec) {
        if (spec == null) throw new InvalidQuantSpecException("null", "no spec");
        String s = spec.strip().toLowerCase(Locale.ROOT);
        switch (s) {
            case "fp32", "float32", "none" -> {
                return new QuantSpec(spec, Scheme.FP32, 32, null);
            }
            case "bf16" -> {
                return new QuantSpec(spec, Scheme.BF16, 32, null);
            }
            case "int8" -> {
                return new QuantSpec(spec, Scheme.INT8, 8, null);
            }
            case "int8-w8a8" -> {
                return new QuantSpec(spec, Scheme.INT8_W8A8, 8, null);
            }
            case "fp8-e4m3" -> {
                return new QuantSpec(spec, Scheme.FP8_E4M3, 8, null);
            }
            case "fp8-e5m2" -> {
                return new QuantSpec(spec, Scheme.FP8_E5M2, 8, null);
            }
            default -> {
            }
        }
        if (s.startsWith("dr:")) {
            int bits;
            try {
                bits = Integer.parseInt(s.substring(3).strip());
            } catch (NumberFormatException e) {
                throw new InvalidQuantSpecException(spec, "dr: takes the weight bits, an integer");
            }
            if (bits < DoubleRounding.MIN_BITS || bits > DoubleRounding.MAX_BITS) {
                throw new InvalidQuantSpecException(spec, "dr: bits must be " + DoubleRounding.MIN_BITS + ".." + DoubleRounding.MAX_BITS);
            }
            return new QuantSpec(spec, Scheme.DOUBLE_ROUNDING, bits, null);
        }
        if (s.startsWith("mixed:")) return new QuantSpec(spec, Scheme.MIXED, 8, budget(spec, s.substring(6).strip()));
        throw new InvalidQuantSpecException(spec, "unknown scheme");
    }

    private static MixedBudget budget(String spec, String v) {
        Matcher m = SIZE.matcher(v);
        if (m.matches()) {
            double n = Double.parseDouble(m.group(1));
            long unit = switch (m.group(2)) {
                case "kb" -> 1000L;
                case "mb" -> 1000_000L;
                case "gb" -> 1000_000_000L;
                default -> 1L;
            };
            if (!(n > 0)) throw new InvalidQuantSpecException(spec, "the mixed size budget must be positive");
            return new MixedBudget(MixedBudget.Kind.BYTES, n * unit);
        }
        double x;
        try {
            x = Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new InvalidQuantSpecException(spec, "mixed: takes a fraction, a size or average bits");
        }
        if (x > 0 && x <= 1) return new MixedBudget(MixedBudget.Kind.FRACTION_OF_FLOAT32, x);
        if (x >= DoubleRounding.MIN_BITS && x <= DoubleRounding.MAX_BITS) return new MixedBudget(MixedBudget.Kind.AVERAGE_BITS, x);
        throw new InvalidQuantSpecException(spec, "a mixed budget number is a fraction in (0, 1] or average bits in [2, 8]");
    }

    /** Whether the weights are quantized (everything but fp32 and bf16). */
    public boolean quantized() {
        return scheme != Scheme.FP32 && scheme != Scheme.BF16;
    }

    /** The oneDNN options this scheme runs with: bf16 compute for {@code bf16}, exact float32 otherwise. */
    public DnnlKernels.Options kernelOptions() {
        return new DnnlKernels.Options(scheme == Scheme.BF16);
    }

    /** The weight plan (every conv/linear except the default float32 set), or null for fp32/bf16. */
    public QuantizationPlan plan() {
        WeightFormat format = switch (scheme) {
            case FP32, BF16 -> null;
            case FP8_E4M3 -> WeightFormat.FP8_E4M3;
            case FP8_E5M2 -> WeightFormat.FP8_E5M2;
            default -> WeightFormat.INT8;
        };
        return format == null ? null : QuantizationPlan.defaults(WeightQuantizer.of(format, Granularity.PER_OUTPUT_CHANNEL));
    }

    /** The activation quantization of W8A8 layers, or null (W8A32 or float). */
    public Int8Activations activations() {
        return scheme == Scheme.INT8_W8A8 ? Int8Activations.DYNAMIC : null;
    }

    /** Where the layers' quantized weights come from: {@link #plan()} at load time (nothing for fp32/bf16). */
    public WeightSource weightSource() {
        QuantizationPlan plan = plan();
        return plan == null ? (path, weight) -> Optional.empty() : WeightSource.of(plan);
    }

    /**
     * The layer factory of a load with this scheme, taking weights from {@code source} (e.g. {@link #weightSource()},
     * or a decorator of it); it reports the {@link WeightFootprint}. For models built from other parameter sources
     * ({@code LoadOptions.of(kernels).withLayerFactory(k -> factory)}).
     */
    public QuantizingLayerFactory layerFactory(Kernels kernels, WeightSource source) {
        return new QuantizingLayerFactory(kernels, source, null, activations());
    }

    /** The session weight precision of every scheme but {@code mixed:} (whose precision comes from {@link #load}). */
    public WeightPrecision precision() {
        if (scheme == Scheme.MIXED) throw new IllegalStateException(text + ": the mixed precision is chosen at load (QuantSpec.load)");
        return scheme == Scheme.DOUBLE_ROUNDING ? WeightPrecision.uniform(bits) : WeightPrecision.STORED;
    }

    /** A model loaded with this scheme, and the weight precision its sessions must run at. */
    public record Loaded(UNetModel model, WeightPrecision precision, WeightFootprint footprint) implements AutoCloseable {
        /** Puts {@link #precision} into a session's workspace (call before its first forward). */
        public void configure(dev.unet4j.unet.UNetSession session) {
            session.workspace().attributes().put(WeightPrecision.class, precision);
        }

        @Override
        public void close() {
            model.close();
        }
    }

    /**
     * Loads the float diffusers model at {@code folder} with this scheme on {@code kernels}. {@code mixed:} measures
     * each layer's sensitivity at every bit width on {@code calibration} (a few inputs spread over timesteps; the
     * caller keeps them) with a float copy of the model, then solves the knapsack; the other schemes ignore it.
     *
     * @throws IllegalArgumentException if {@code kernels} cannot run the scheme (bf16 without bf16 compute,
     *                                  int8-w8a8 off oneDNN) or {@code mixed:} gets no calibration inputs
     */
    public Loaded load(Path folder, Kernels kernels, List<UNetInputs> calibration) throws IOException {
        ModelFiles files = ModelLocator.locate(folder);
        return load(files, UNetConfig.of(DiffusersConfig.load(files.configJson())), kernels, calibration);
    }

    /** {@link #load(Path, Kernels, List)} of files already located and a config already read (neither is done again). */
    public Loaded load(ModelFiles files, UNetConfig config, Kernels kernels, List<UNetInputs> calibration) throws IOException {
        if (scheme == Scheme.BF16 && !(kernels instanceof DnnlKernels d && d.options().bf16Compute())) {
            throw new IllegalArgumentException(text + ": needs oneDNN kernels with bf16 compute (new DnnlKernels(spec.kernelOptions())), got " + kernels.name());
        }
        if (scheme == Scheme.MIXED && (calibration == null || calibration.isEmpty())) {
            throw new IllegalArgumentException(text + ": mixed precision needs calibration inputs to measure layer sensitivities");
        }
        QuantizingLayerFactory factory = layerFactory(kernels, weightSource());
        UNetModel model = UNetModel.load(files, config, LoadOptions.of(kernels).withLayerFactory(k -> factory));
        QuantizedUNets.Loaded q = new QuantizedUNets.Loaded(model, factory.quantizedLayers(), factory.footprint());
        try {
            WeightPrecision precision = switch (scheme) {
                case MIXED -> mixedPrecision(files, config, kernels, q, calibration);
                default -> precision();
            };
            return new Loaded(q.model(), precision, q.footprint());
        } catch (IOException | RuntimeException e) {
            q.close();
            throw e;
        }
    }

    private static long codesAt8(Map<String, QuantizedTensor> layers) {
        long n = 0;
        for (QuantizedTensor t : layers.values()) n += t.storageBytes();
        return n;
    }

    private WeightPrecision mixedPrecision(ModelFiles files, UNetConfig config, Kernels kernels, QuantizedUNets.Loaded q, List<UNetInputs> calibration) throws IOException {
        long budgetBytes = knapsackBytes(q.footprint(), q.layers());
        try (UNetModel floatModel = UNetModel.load(files, config, LoadOptions.of(kernels))) {
            return solveMixed(q.layers(), budgetBytes, new UNetSensitivityProbe(floatModel, q.model(), calibration));
        }
    }

    /**
     * The {@code mixed:} weight precision of a model that {@link #load} does not build (e.g. the zoo's segmentation
     * UNets), loaded through {@code factory} ({@link #layerFactory} of this spec): each quantized layer's sensitivity is
     * the {@link ModelOutputProbe} error of {@code quantizedOutputs} against {@code floatOutputs} (the float32 model's
     * outputs on the same calibration inputs), then the knapsack picks the bits under the budget.
     *
     * @throws IllegalStateException    if this is not a {@code mixed:} spec
     * @throws IllegalArgumentException if the budget cannot hold the quantized weights even at 2 bits
     */
    public WeightPrecision mixedPrecision(QuantizingLayerFactory factory, List<float[]> floatOutputs, ModelOutputProbe.Outputs quantizedOutputs) {
        if (scheme != Scheme.MIXED) throw new IllegalStateException(text + ": not a mixed: spec");
        Map<String, QuantizedTensor> layers = factory.quantizedLayers();
        long budgetBytes = knapsackBytes(factory.footprint(), layers);
        return solveMixed(layers, budgetBytes, new ModelOutputProbe(floatOutputs, quantizedOutputs));
    }

    /** The knapsack's byte budget for the quantized weights, refused (before the long sensitivity measurement) if none is left. */
    private long knapsackBytes(WeightFootprint footprint, Map<String, QuantizedTensor> layers) {
        long budgetBytes = budget.knapsackBytes(footprint, layers);
        if (budgetBytes <= 0) {
            throw new IllegalArgumentException(text + ": leaves " + budgetBytes + " bytes for the quantized weights once the "
                    + "float32 layers, biases and scales (" + (footprint.residentBytes() - codesAt8(layers)) + " bytes) are counted;"
                    + " give a larger budget");
        }
        return budgetBytes;
    }

    private WeightPrecision solveMixed(Map<String, QuantizedTensor> layers, long budgetBytes, SensitivityProbe probe) {
        List<LayerSensitivity> sens = SensitivityAnalysis.measure(UNetSensitivityProbe.shapes(layers), MIXED_BITS, probe);
        try {
            return MixedPrecisionKnapsack.solve(sens, budgetBytes).toPrecision(8);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(text + ": " + budgetBytes + " bytes for the quantized weights: " + e.getMessage(), e);
        }
    }
}
