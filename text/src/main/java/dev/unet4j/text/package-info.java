/**
 * Text conditioning for Stable Diffusion pipelines: transformers' CLIP tokenizer and CLIP text encoders.
 *
 * <ul>
 *   <li>{@link dev.unet4j.text.ClipTokenizer#load} reads a pipeline's {@code tokenizer/} folder;
 *       {@link dev.unet4j.text.ClipTokenizer#encode} gives the padded {@code input_ids} and attention mask a pipeline
 *       feeds its text encoder, {@link dev.unet4j.text.ClipTokenizer#encodeChunked} the 75-token windows of long
 *       prompts, {@link dev.unet4j.text.ClipTokenizer#encodeWeighted} the same with AUTOMATIC1111 emphasis
 *       ({@link dev.unet4j.text.PromptWeights}).</li>
 *   <li>{@link dev.unet4j.text.ClipTextModel#load} reads {@code text_encoder/} ({@code CLIPTextModel} or
 *       {@code CLIPTextModelWithProjection}); {@link dev.unet4j.text.ClipTextModel#encode} returns a
 *       {@link dev.unet4j.text.ClipTextOutput}. Loaded models are immutable and thread-safe.</li>
 * </ul>
 * The encoder's modules live in {@code dev.unet4j.text.nn}, one class per transformers module, named by their
 * checkpoint keys.
 */
package dev.unet4j.text;
