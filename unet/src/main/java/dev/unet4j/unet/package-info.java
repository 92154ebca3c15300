/**
 * diffusers {@code UNet2DModel} and {@code UNet2DConditionModel} (v0.31 semantics) as an open graph of named nodes.
 *
 * <ul>
 *   <li>{@link dev.unet4j.unet.UNetModel#load} reads a diffusers folder (model, pipeline or HF cache);
 *       {@link dev.unet4j.unet.UNet2DModel#build} / {@link dev.unet4j.unet.UNet2DConditionModel#build} take a typed
 *       config and any {@link dev.unet4j.unet.ParameterSource}. Models are immutable and thread-safe.</li>
 *   <li>{@link dev.unet4j.unet.UNetSession} (one per thread) runs {@code forward}, the encoder half
 *       ({@code encode} -> {@link dev.unet4j.unet.EncoderState}) and the decoder half ({@code decode},
 *       {@code decodeBatched}), owns the memory pool, the {@link dev.unet4j.unet.NodeInterceptor}, captures and the
 *       {@link dev.unet4j.unet.CallTrace}.</li>
 *   <li>Nodes are named by diffusers module paths ({@code down_blocks.1.attentions.0.transformer_blocks.0.attn2});
 *       levels {@link dev.unet4j.unet.NodeLevel}, kinds {@link dev.unet4j.unet.NodeKind}. Skip tensors are
 *       {@code skip.0..n-1} in push order.</li>
 *   <li>{@link dev.unet4j.unet.LayerFactory} turns weights into prepared conv/linear layers (quantization hook).</li>
 * </ul>
 * The implementation lives in {@code dev.unet4j.unet.nn} (one small class per diffusers module) and
 * {@code dev.unet4j.unet.config} (typed configs with diffusers' defaults).
 */
package dev.unet4j.unet;
