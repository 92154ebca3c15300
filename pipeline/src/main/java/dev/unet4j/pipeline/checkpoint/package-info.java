/**
 * Single-file Stable Diffusion checkpoints in the original LDM / A1111 layout ({@code model.diffusion_model.*},
 * {@code first_stage_model.*}, {@code cond_stage_model.*}, {@code conditioner.embedders.*}): the key mapping of
 * diffusers 0.31's {@code loaders/single_file_utils.py} as {@link dev.unet4j.unet.ParameterSource}s that feed the
 * ordinary UNet, VAE and text-encoder builders, the architecture detection of {@code infer_diffusers_model_type},
 * and the refusal of pickle files.
 */
package dev.unet4j.pipeline.checkpoint;
