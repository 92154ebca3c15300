package dev.unet4j.pipeline;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.quantization.WeightPrecision;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.unet.LayerFactory;
import dev.unet4j.unet.UNetSession;

import java.util.function.Consumer;

/**
 * A pipeline UNet's layer factory and session setup for a fixed quantization scheme (what {@code QuantSpec.load}
 * does, as a factory the pipeline can wrap to record its layers for LoRA), or plain float32 layers for none.
 */
public record QuantizedLayers(QuantSpec spec, Kernels kernels) {

    /** {@code spec} null or unquantized = float32 layers. */
    public static QuantizedLayers of(QuantSpec spec, Kernels kernels) {
        requireFixed(spec);
        if (spec != null && spec.scheme() == QuantSpec.Scheme.BF16 && !(kernels instanceof DnnlKernels d && d.options().bf16Compute())) {
            throw new IllegalArgumentException(spec.text() + ": needs oneDNN kernels with bf16 compute, got " + kernels.name());
        }
        return new QuantizedLayers(spec == null || !spec.quantized() ? null : spec, kernels);
    }

    /** Refuses a scheme whose precision is chosen from calibration inputs (pipelines have none); null passes. */
    static void requireFixed(QuantSpec spec) {
        if (spec != null && spec.scheme() == QuantSpec.Scheme.MIXED) {
            throw new IllegalArgumentException("quantization '" + spec.text() + "' needs calibration inputs; pipelines take the"
                    + " fixed schemes (" + QuantSpec.VALID + " without mixed:)");
        }
    }

    /** The layer factory for the UNet on {@code k}. */
    public LayerFactory factory(Kernels k) {
        return spec == null ? LayerFactory.of(k) : spec.layerFactory(k, spec.weightSource());
    }

    /** Puts the scheme's weight precision into each session (nothing for float32). */
    public Consumer<UNetSession> sessionSetup() {
        if (spec == null) return s -> { };
        WeightPrecision precision = spec.precision();
        return s -> s.workspace().attributes().put(WeightPrecision.class, precision);
    }
}
