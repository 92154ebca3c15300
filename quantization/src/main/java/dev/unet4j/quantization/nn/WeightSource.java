package dev.unet4j.quantization.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.QuantizedTensor;
import dev.unet4j.quantization.io.QuantizedCheckpoint;

import java.util.Optional;

/** Where a layer's quantized weight comes from while a model is built, or empty to keep the layer float32. */
@FunctionalInterface
public interface WeightSource {

    /** The quantized weight of the layer at module {@code path}, whose float32 weight is {@code weight}. */
    Optional<QuantizedTensor> weightFor(String path, Tensor weight);

    /** Quantizes float weights at load time as {@code plan} says. */
    static WeightSource of(QuantizationPlan plan) {
        return (path, weight) -> plan.quantizerFor(path).map(q -> q.quantize(path + ".weight", weight));
    }

    /**
     * Takes the stored codes of a quantized checkpoint ({@code <path>.weight}) as they are (the float weight the
     * builder passes is their dequantization and is ignored); layers the checkpoint stores as float stay float.
     */
    static WeightSource of(QuantizedCheckpoint checkpoint) {
        return (path, weight) -> Optional.ofNullable(checkpoint.quantized().get(path + ".weight"));
    }
}
