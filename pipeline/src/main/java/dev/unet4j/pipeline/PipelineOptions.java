package dev.unet4j.pipeline;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.caching.CachePolicy;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.quantization.spec.QuantSpec;

import java.util.Objects;

/**
 * How {@link StableDiffusion#load} builds a pipeline.
 *
 * @param kernels  the compute backend of every component; null = a oneDNN backend owned (and closed) by the
 *                 pipeline, bf16 compute when the quantization asks for it, exact float32 otherwise
 * @param cache    the UNet feature-cache policy of every generation (default {@link CachePolicies#NONE}), applied
 *                 exactly as for bare UNets (a fresh cache session per run, planned from the run's timesteps)
 * @param quant    the UNet's weight quantization (null = float32 as stored); the text encoder and VAE stay float32
 * @param unetSwitch A-SDM's multi-UNet switching: a second UNet (loaded with the same kernels and quantization) that
 *                 runs part of every generation's steps; null = none
 */
public record PipelineOptions(Kernels kernels, CachePolicy cache, QuantSpec quant, UNetSwitch unetSwitch) {
    public PipelineOptions {
        Objects.requireNonNull(cache, "cache");
    }

    /** Own oneDNN backend, no cache, no quantization. */
    public static PipelineOptions defaults() {
        return new PipelineOptions(null, CachePolicies.NONE, null, null);
    }

    public PipelineOptions withKernels(Kernels k) {
        return new PipelineOptions(k, cache, quant, unetSwitch);
    }

    public PipelineOptions withCache(CachePolicy policy) {
        return new PipelineOptions(kernels, policy, quant, unetSwitch);
    }

    public PipelineOptions withQuant(QuantSpec spec) {
        return new PipelineOptions(kernels, cache, spec, unetSwitch);
    }

    /** Multi-UNet switching (see {@link UNetSwitch}); null for none. */
    public PipelineOptions withUNetSwitch(UNetSwitch s) {
        return new PipelineOptions(kernels, cache, quant, s);
    }
}
