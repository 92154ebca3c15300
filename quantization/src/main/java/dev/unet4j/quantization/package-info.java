/**
 * Weight and activation quantization for diffusers UNets.
 *
 * <h2>Weights</h2>
 * {@link dev.unet4j.quantization.WeightQuantizer} turns float32 weights into a
 * {@link dev.unet4j.quantization.QuantizedTensor}: one byte per element in a
 * {@link dev.unet4j.core.codes.WeightFormat} (INT8 in [-127, 127], or OFP8 E4M3/E5M2 from
 * {@link dev.unet4j.core.codes.Fp8Format}) plus a float32 scale per tensor or per output channel,
 * {@code scale = clip / maxCode} with the clip from a {@link dev.unet4j.quantization.RangeSearch} (amax, percentile or
 * MSE-optimal). INT8 weights can run at 2..7 bits through {@link dev.unet4j.quantization.DoubleRounding}
 * (a second, exact integer rounding of the stored codes), chosen per session by a
 * {@link dev.unet4j.quantization.WeightPrecision} in the workspace attributes.
 *
 * <h2>Layers and models</h2>
 * {@code nn}: {@code QuantizedConv2d} / {@code QuantizedLinear} keep float32 activations (W8A32): INT8 and FP8
 * codes go to the backend's coded-weight layer ({@code Kernels.codedWeightConv2d}; on oneDNN native memory, INT8
 * converted by oneDNN inside a decompressing matmul or by one scaled reorder per call, FP8 always by one scaled
 * reorder into the float32 kernel's weight layout; lower INT8 double-rounding widths through a code remapping);
 * {@code Int8Conv2d} / {@code Int8Linear} run INT8
 * weights with s8 activations on oneDNN's int8 kernels (W8A8; {@code Int8Activations}: a dynamic per-tensor scale or
 * calibrated static ones); {@code WeightFootprint} reports the resident conv/linear weight bytes of a load;
 * {@code QuantizationPlan} says which module paths
 * are quantized (globs; a default float32 set), {@code QuantizingLayerFactory} plugs into the UNet builder,
 * {@code QuantizedUNets} loads models, {@code UNetSensitivityProbe} measures a diffusion UNet's per-layer
 * sensitivity for the {@code mixed} package's knapsack (other models go through {@code mixed.ModelOutputProbe}). {@code io.QuantizedCheckpoint} saves and loads quantized model folders.
 *
 * <h2>Activations</h2>
 * {@code activation}: s8/u8 schemes, dynamic per-tensor/per-token scales, and static scales from a
 * {@code Calibrator} fed by {@code nn.CalibratingLayerFactory} over many timesteps, with the two halves of up-block
 * skip concatenations calibrated separately. Symmetric s8 static scales feed the W8A8 layers
 * ({@code nn.Int8Activations.calibrated}).
 *
 * <h2>Schemes by name</h2>
 * {@code spec.QuantSpec.parse} maps {@code fp32, bf16, int8, int8-w8a8, fp8-e4m3, fp8-e5m2, dr:N, mixed:BUDGET} to a
 * plan, layer factory, kernel options and session precision, and loads a model with them.
 */
package dev.unet4j.quantization;
