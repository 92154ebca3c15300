/**
 * Weight and activation quantization for diffusers UNets.
 *
 * <h2>Weights</h2>
 * {@link dev.unet4j.quantization.WeightQuantizer} turns float32 weights into a
 * {@link dev.unet4j.quantization.QuantizedTensor}: one byte per element in a
 * {@link dev.unet4j.quantization.WeightFormat} (INT8 in [-127, 127], or OFP8 E4M3/E5M2 from
 * {@link dev.unet4j.quantization.fp8.Fp8Format}) plus a float32 scale per tensor or per output channel,
 * {@code scale = clip / maxCode} with the clip from a {@link dev.unet4j.quantization.RangeSearch} (amax, percentile or
 * MSE-optimal). INT8 weights can run at 2..7 bits through {@link dev.unet4j.quantization.DoubleRounding}
 * (a second, exact integer rounding of the stored codes), chosen per session by a
 * {@link dev.unet4j.quantization.WeightPrecision} in the workspace attributes.
 *
 * <h2>Layers and models</h2>
 * {@code nn}: {@code QuantizedConv2d} / {@code QuantizedLinear} decode their codes into a pooled workspace tensor on
 * every call and run the backend's call-time-weight kernels (W8A32); {@code QuantizationPlan} says which module paths
 * are quantized (globs; a default float32 set), {@code QuantizingLayerFactory} plugs into the UNet builder,
 * {@code QuantizedUNets} loads models, {@code UNetSensitivityProbe} measures per-layer sensitivity for the
 * {@code mixed} package's knapsack. {@code io.QuantizedCheckpoint} saves and loads quantized model folders.
 *
 * <h2>Activations</h2>
 * {@code activation}: s8/u8 schemes, dynamic per-tensor/per-token scales, and static scales from a
 * {@code Calibrator} fed by {@code nn.CalibratingLayerFactory} over many timesteps, with the two halves of up-block
 * skip concatenations calibrated separately. No kernel consumes activation quantizers yet (the layers are W8A32).
 */
package dev.unet4j.quantization;
