/**
 * LoRA for loaded models without reloading them: kohya / A1111 ({@code lora_unet_*}, {@code lora_te_*},
 * {@code lora_te1_/te2_}; {@code lora_down/lora_up/alpha}), diffusers / PEFT ({@code unet.<path>.lora_A/lora_B}) and
 * LoCon convolution files, mapped to the models' module paths; a per-generation {@link dev.unet4j.pipeline.lora.LoraSet}
 * applied as a low-rank side path or merged into private copies of the touched weights, through the
 * {@link dev.unet4j.unet.LayerAdapter} seam of a session's workspace (the shared model is never written).
 */
package dev.unet4j.pipeline.lora;
