/**
 * A checkpoint on disk: where its files are ({@link dev.unet4j.core.checkpoint.ModelLocator},
 * {@link dev.unet4j.core.checkpoint.ModelFiles}), its tensors over one file or many shards
 * ({@link dev.unet4j.core.checkpoint.WeightSource}), and its diffusers {@code config.json} read with types
 * ({@link dev.unet4j.core.checkpoint.DiffusersConfig}). No model is built here; the model modules build theirs from these.
 */
package dev.unet4j.core.checkpoint;
