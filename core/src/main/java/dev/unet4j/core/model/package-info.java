/**
 * Model folders as diffusers lays them out: locating a model in a folder, a pipeline or a Hugging Face cache snapshot
 * ({@link dev.unet4j.core.model.ModelLocator}), weight files, shards and variants, and {@code config.json}.
 */
package dev.unet4j.core.model;
