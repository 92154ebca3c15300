package dev.unet4j.cli;

import dev.unet4j.quantization.Granularity;
import dev.unet4j.quantization.WeightFormat;
import dev.unet4j.quantization.WeightPrecision;
import dev.unet4j.quantization.WeightQuantizer;
import dev.unet4j.quantization.nn.Int8Activations;
import dev.unet4j.quantization.nn.QuantizationPlan;
import dev.unet4j.unet.UNetSession;

import java.util.Locale;
import java.util.function.Consumer;

/**
 * A {@code --quant} value, mapped onto the quantization module:
 * <ul>
 *   <li>{@code int8}: INT8 weights per output channel, float32 activations (W8A32), the default float32 set kept;</li>
 *   <li>{@code fp8-e4m3}, {@code fp8-e5m2}: FP8 weights per output channel (W8A32);</li>
 *   <li>{@code dr:N}: INT8 weights run at N bits (2..8) by double rounding, set per session;</li>
 *   <li>{@code mixed:BITS}: INT8 weights, each layer run at 8, 6, 4 or 2 bits by double rounding, chosen by the
 *       quantization module's knapsack from measured model-output sensitivities so that the weights average at most
 *       BITS bits ({@link MixedPrecision});</li>
 *   <li>{@code int8-w8a8}: INT8 weights and s8 activations (dynamic per-tensor scale) on oneDNN's int8 kernels
 *       ({@link Int8Activations#DYNAMIC}), the default float32 set kept;</li>
 * </ul>
 *
 * @param text   the spec as given
 * @param kind   the scheme
 * @param bits   weight bits for {@code dr:N}, 8 otherwise
 * @param budget {@code mixed:}: average bits per weight, else 0
 */
record QuantSpec(String text, Kind kind, int bits, double budget) {
    static final String VALID = "int8, int8-w8a8, fp8-e4m3, fp8-e5m2, dr:N (N = 2..8), mixed:BITS (average weight bits, e.g. mixed:5.5)";

    enum Kind { INT8, INT8_W8A8, FP8_E4M3, FP8_E5M2, DOUBLE_ROUNDING, MIXED }

    static QuantSpec parse(String spec) {
        String s = spec.strip().toLowerCase(Locale.ROOT);
        switch (s) {
            case "int8":
                return new QuantSpec(spec, Kind.INT8, 8, 0);
            case "int8-w8a8":
                return new QuantSpec(spec, Kind.INT8_W8A8, 8, 0);
            case "fp8-e4m3":
                return new QuantSpec(spec, Kind.FP8_E4M3, 8, 0);
            case "fp8-e5m2":
                return new QuantSpec(spec, Kind.FP8_E5M2, 8, 0);
            default:
                break;
        }
        if (s.startsWith("dr:")) {
            int bits;
            try {
                bits = Integer.parseInt(s.substring(3));
            } catch (NumberFormatException e) {
                throw new UserException("bad --quant '" + spec + "': dr: takes the weight bits, 2..8 (e.g. dr:4)");
            }
            if (bits < 2 || bits > 8) throw new UserException("bad --quant '" + spec + "': dr: bits must be 2..8");
            return new QuantSpec(spec, Kind.DOUBLE_ROUNDING, bits, 0);
        }
        if (s.startsWith("mixed:")) {
            double b;
            try {
                b = Double.parseDouble(s.substring(6));
            } catch (NumberFormatException e) {
                throw new UserException("bad --quant '" + spec + "': mixed: takes an average weight bit budget, e.g. mixed:5.5");
            }
            if (!(b >= 2 && b <= 8)) throw new UserException("bad --quant '" + spec + "': the mixed bit budget must be in [2, 8]");
            return new QuantSpec(spec, Kind.MIXED, 8, b);
        }
        throw new UserException("unknown --quant '" + spec + "'; valid: " + VALID);
    }

    /** Refuses schemes the quantization module cannot run yet. */
    QuantSpec requireSupported() {
        return this; // every parsed scheme runs now
    }

    /** The weight plan: every conv/linear quantized except the default float32 set. */
    QuantizationPlan plan() {
        requireSupported();
        WeightFormat format = switch (kind) {
            case FP8_E4M3 -> WeightFormat.FP8_E4M3;
            case FP8_E5M2 -> WeightFormat.FP8_E5M2;
            default -> WeightFormat.INT8;
        };
        return QuantizationPlan.defaults(WeightQuantizer.of(format, Granularity.PER_OUTPUT_CHANNEL));
    }

    /** The int8 activations of W8A8 layers, or null for W8A32. */
    Int8Activations activations() {
        return kind == Kind.INT8_W8A8 ? Int8Activations.DYNAMIC : null;
    }

    /** What each session needs before its first call (the run-time weight precision of {@code dr:N}). */
    Consumer<UNetSession> sessionSetup() {
        if (kind != Kind.DOUBLE_ROUNDING || bits == 8) return s -> { };
        WeightPrecision precision = WeightPrecision.uniform(bits);
        return s -> s.workspace().attributes().put(WeightPrecision.class, precision);
    }

    /** A short name for tables. */
    String label() {
        return "quant " + text;
    }
}
