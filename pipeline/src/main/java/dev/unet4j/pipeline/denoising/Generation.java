package dev.unet4j.pipeline.denoising;

import dev.unet4j.samplers.LatentHook;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.NoiseSource;
import dev.unet4j.samplers.StepCallback;
import dev.unet4j.samplers.guidance.ClassConditioning;
import dev.unet4j.samplers.guidance.Conditioning;
import dev.unet4j.samplers.guidance.TextConditioning;

import java.util.Objects;

/**
 * What to generate with a {@link Pipeline}: an immutable value built fluently from {@link #of(int)}.
 *
 * <pre>{@code
 * Generation.of(25).classes(3, 7).seeds(0, 1).guidance(1.5, 10)   // two digits, CFG with null class 10
 * }</pre>
 *
 * @param steps          inference steps
 * @param batch          images per run; 0 = taken from the seeds or the conditioning
 * @param height         sample height; 0 = the model's {@code sample_size}
 * @param width          sample width; 0 = the model's {@code sample_size}
 * @param seeds          one torch generator per batch item (diffusers' list of generators), or null
 * @param noise          explicit noise (initial latents and per-step noise), used when {@code seeds} is null
 * @param cond           conditioning of every item (class labels or text embeddings), or null for unconditional
 * @param uncond         the unconditional counterpart for classifier-free guidance, or null
 * @param guidanceScale  CFG scale; {@code <= 1} means no guidance (one conditioned call per evaluation)
 * @param callback       called after every step (progress, previews, cancellation)
 * @param guidanceRescale diffusers' {@code guidance_rescale} phi in [0, 1] (0 = off)
 * @param initLatents    img2img: the clean latents the run starts from (noised to the cut timestep by the sampler
 *                       with the noise source's initial draw), or null for text-to-image
 * @param strength       img2img strength in (0, 1] (the part of the schedule that runs); 1 without init latents
 * @param extraChannels  channels appended to the (scaled) latents of every UNet call, {@code [1 or B, E, h, w]}, e.g.
 *                       an inpainting UNet's mask and masked-image latents; the sampler's latents then have the UNet's
 *                       input channels minus E; null for none
 * @param latentHook     edits the running latents at each step start (before any cache policy's hook), or null
 */
public record Generation(int steps, int batch, int height, int width, long[] seeds, NoiseSource noise,
                         Conditioning cond, Conditioning uncond, double guidanceScale, StepCallback callback,
                         double guidanceRescale, Latents initLatents, double strength, Latents extraChannels,
                         LatentHook latentHook) {

    public Generation {
        if (steps < 1) throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        if (batch < 0 || height < 0 || width < 0) throw new IllegalArgumentException("negative batch or size");
        seeds = seeds == null ? null : seeds.clone();
        Objects.requireNonNull(callback, "callback");
        if (!Double.isFinite(guidanceScale) || guidanceScale < 0) {
            throw new IllegalArgumentException("guidance scale must be a finite number >= 0, got " + guidanceScale);
        }
        if (!(guidanceRescale >= 0 && guidanceRescale <= 1)) {
            throw new IllegalArgumentException("guidance_rescale must be in [0, 1], got " + guidanceRescale);
        }
        if (initLatents != null && !(strength > 0 && strength <= 1)) {
            throw new IllegalArgumentException("strength must be in (0, 1], got " + strength);
        }
    }

    /** The record without the img2img and rescale fields (they default to none). */
    public Generation(int steps, int batch, int height, int width, long[] seeds, NoiseSource noise, Conditioning cond,
                      Conditioning uncond, double guidanceScale, StepCallback callback) {
        this(steps, batch, height, width, seeds, noise, cond, uncond, guidanceScale, callback, 0.0, null, 1.0, null, null);
    }

    /** diffusers' {@code guidance_rescale} (0 = off): the guided prediction pulled toward the conditional one's std. */
    public Generation guidanceRescale(double phi) {
        return new Generation(steps, batch, height, width, seeds, noise, cond, uncond, guidanceScale, callback, phi,
                initLatents, strength, extraChannels, latentHook);
    }

    /**
     * img2img: start from {@code latents} (already scaled for the UNet, batch and size of the run), noised to the
     * timestep the strength cuts the schedule at, with the noise source's initial draw.
     */
    public Generation initLatents(Latents latents, double s) {
        return new Generation(steps, batch, height, width, seeds, noise, cond, uncond, guidanceScale, callback,
                guidanceRescale, Objects.requireNonNull(latents, "latents"), s, extraChannels, latentHook);
    }

    /**
     * Channels appended to the latents of every UNet call ({@code [1 or B, E, h, w]}, repeated over the batch and the
     * guidance halves): an inpainting UNet's {@code cat([latents, mask, masked_image_latents], dim=1)}.
     */
    public Generation extraChannels(Latents extra) {
        return new Generation(steps, batch, height, width, seeds, noise, cond, uncond, guidanceScale, callback,
                guidanceRescale, initLatents, strength, extra, latentHook);
    }

    /** Edits the running latents at every step start (see {@link LatentHook}). */
    public Generation latentHook(LatentHook hook) {
        return new Generation(steps, batch, height, width, seeds, noise, cond, uncond, guidanceScale, callback,
                guidanceRescale, initLatents, strength, extraChannels, hook);
    }

    /** {@code steps} steps, batch 1, seed 0, unconditional, no guidance. */
    public static Generation of(int steps) {
        return new Generation(steps, 0, 0, 0, null, null, null, null, 1.0, StepCallback.NONE);
    }

    @Override
    public long[] seeds() {
        return seeds == null ? null : seeds.clone();
    }

    /** One seed per batch item: item i's noise is {@code torch.randn(generator=manual_seed(seeds[i]))}. */
    public Generation seeds(long... s) {
        if (s.length == 0) throw new IllegalArgumentException("need at least one seed");
        return new Generation(steps, batch, height, width, s, null, cond, uncond, guidanceScale, callback, guidanceRescale, initLatents, strength, extraChannels, latentHook);
    }

    /** Caller-supplied noise for a batch of {@code n}. */
    public Generation noise(NoiseSource source, int n) {
        return new Generation(steps, n, height, width, null, Objects.requireNonNull(source), cond, uncond, guidanceScale, callback, guidanceRescale, initLatents, strength, extraChannels, latentHook);
    }

    public Generation size(int h, int w) {
        if (h < 1 || w < 1) throw new IllegalArgumentException("size must be positive, got " + h + "x" + w);
        return new Generation(steps, batch, h, w, seeds, noise, cond, uncond, guidanceScale, callback, guidanceRescale, initLatents, strength, extraChannels, latentHook);
    }

    public Generation steps(int n) {
        return new Generation(n, batch, height, width, seeds, noise, cond, uncond, guidanceScale, callback, guidanceRescale, initLatents, strength, extraChannels, latentHook);
    }

    /** Class labels, one per item. */
    public Generation classes(long... labels) {
        return conditioning(new ClassConditioning(labels));
    }

    /** Any conditioning (class labels, text embeddings). */
    public Generation conditioning(Conditioning c) {
        return new Generation(steps, batch, height, width, seeds, noise, c, uncond, guidanceScale, callback, guidanceRescale, initLatents, strength, extraChannels, latentHook);
    }

    /** Classifier-free guidance for a class-conditional model whose null (unconditional) label is {@code nullClass}. */
    public Generation guidance(double scale, long nullClass) {
        if (!(cond instanceof ClassConditioning c)) {
            throw new IllegalStateException("set the class labels (classes(...)) before class guidance");
        }
        return new Generation(steps, batch, height, width, seeds, noise, cond, ClassConditioning.repeat(nullClass, c.batchSize()),
                scale, callback, guidanceRescale, initLatents, strength, extraChannels, latentHook);
    }

    /** Classifier-free guidance with explicit unconditional inputs (e.g. empty-prompt text embeddings). */
    public Generation guidance(double scale, Conditioning unconditional) {
        if (cond == null) throw new IllegalStateException("set the conditioning before guidance");
        if (cond instanceof TextConditioning && !(unconditional instanceof TextConditioning)) {
            throw new IllegalArgumentException("text conditioning needs text unconditional embeddings");
        }
        return new Generation(steps, batch, height, width, seeds, noise, cond, unconditional, scale, callback, guidanceRescale, initLatents, strength, extraChannels, latentHook);
    }

    public Generation onStep(StepCallback cb) {
        return new Generation(steps, batch, height, width, seeds, noise, cond, uncond, guidanceScale, cb, guidanceRescale, initLatents, strength, extraChannels, latentHook);
    }

    /** Items in the batch: explicit, else from the seeds, else from the conditioning, else 1. */
    public int batchSize() {
        int b = batch;
        if (b == 0 && seeds != null) b = seeds.length;
        if (b == 0 && cond != null) b = cond.batchSize();
        if (b == 0) b = 1;
        if (seeds != null && seeds.length != b) throw new IllegalArgumentException(seeds.length + " seeds for a batch of " + b);
        if (cond != null && cond.batchSize() != b) {
            throw new IllegalArgumentException("conditioning has " + cond.batchSize() + " items for a batch of " + b);
        }
        if (uncond != null && uncond.batchSize() != b) {
            throw new IllegalArgumentException("unconditional inputs have " + uncond.batchSize() + " items for a batch of " + b);
        }
        return b;
    }

    /** The noise source of one run (a fresh one per call: seeded sources are stateful). */
    NoiseSource newNoise() {
        if (seeds != null) return NoiseSource.perItem(seeds);
        if (noise != null) return noise;
        return NoiseSource.seeded(0);
    }
}
