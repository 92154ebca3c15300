package dev.unet4j.quantization.mixed;

import dev.unet4j.quantization.WeightPrecision;

import java.util.List;
import java.util.Map;

/**
 * Model-level layer sensitivity for any model: the mean squared difference between the float32 model's outputs and
 * the INT8 model's outputs when one layer runs at {@code b} bits (derived by double rounding, switched through the
 * session's {@link WeightPrecision}, so no reload per probe), over the calibration inputs. The model is reached only
 * through {@link Outputs}: a diffusion UNet runs its inputs over timesteps, a segmentation UNet its input {@code x}.
 *
 * <p>The other quantized layers run at their stored 8 bits rather than float32 (one model serves every probe), so each
 * value includes roughly the error of the all-8-bit model ({@link #baseline()}). It is not subtracted: the difference
 * of two such small errors can be negative by chance, and a near-constant offset per layer does not change which
 * assignment the knapsack prefers.
 */
public final class ModelOutputProbe implements SensitivityProbe {
    /** The quantized model's outputs on the calibration inputs with its sessions at {@code precision}, in a fixed order. */
    @FunctionalInterface
    public interface Outputs {
        List<float[]> run(WeightPrecision precision);
    }

    private final List<float[]> references;
    private final Outputs quantized;
    private final double baseline;

    /** {@code references}: the float32 model's outputs, in the order {@code quantized} returns its own. */
    public ModelOutputProbe(List<float[]> references, Outputs quantized) {
        if (references.isEmpty()) throw new IllegalArgumentException("sensitivity needs at least one calibration output");
        this.references = List.copyOf(references);
        this.quantized = quantized;
        this.baseline = error(WeightPrecision.STORED);
    }

    /** Mean squared error of the all-8-bit model against the float model. */
    public double baseline() {
        return baseline;
    }

    @Override
    public double outputError(String layer, int bits) {
        return bits == 8 ? baseline : error(new WeightPrecision(8, Map.of(layer, bits)));
    }

    /** Mean squared difference of the quantized model's outputs at {@code precision} from the float32 references. */
    public double error(WeightPrecision precision) {
        List<float[]> outputs = quantized.run(precision);
        if (outputs.size() != references.size()) {
            throw new IllegalStateException(outputs.size() + " outputs for " + references.size() + " float32 references");
        }
        double sum = 0;
        long n = 0;
        for (int i = 0; i < references.size(); i++) {
            float[] ref = references.get(i), got = outputs.get(i);
            if (got.length != ref.length) throw new IllegalStateException("output " + i + ": " + got.length + " values, float32 has " + ref.length);
            for (int k = 0; k < ref.length; k++) sum += (double) (got[k] - ref[k]) * (got[k] - ref[k]);
            n += ref.length;
        }
        return sum / n;
    }
}
