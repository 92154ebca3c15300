package dev.unet4j.samplers.pipeline;

import dev.unet4j.samplers.Denoiser;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.Sampler;
import dev.unet4j.samplers.SamplingRequest;
import dev.unet4j.samplers.guidance.Guidance;
import dev.unet4j.unet.NodeInterceptor;
import dev.unet4j.unet.UNet2DModel;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;

import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A UNet, a sampler and optionally a per-run {@link NodeInterceptor} (a feature-cache policy), ready to generate.
 * Immutable and thread-safe when the model is: every {@link #generate} call opens its own {@link UNetSession}, so
 * {@link dev.unet4j.unet.NodeCall#callIndex()} inside the interceptor equals the sampler's
 * {@link dev.unet4j.samplers.ModelCall#callIndex()} (one UNet call per model evaluation, guidance batched).
 *
 * <pre>{@code
 * Pipeline p = Pipeline.of(unet, Samplers.byName("ddim", SamplerOptions.of(schedulerConfig)));
 * GenerationResult r = p.generate(Generation.of(25).classes(3).seeds(42).guidance(1.5, 10));
 * }</pre>
 *
 * The model is borrowed: closing it stays the caller's job.
 */
public final class Pipeline {
    private final UNetModel unet;
    private final Sampler sampler;
    private final Supplier<? extends NodeInterceptor> interceptors;
    private final Consumer<UNetSession> sessionSetup;

    private Pipeline(UNetModel unet, Sampler sampler, Supplier<? extends NodeInterceptor> interceptors,
                     Consumer<UNetSession> sessionSetup) {
        this.unet = Objects.requireNonNull(unet, "unet");
        this.sampler = Objects.requireNonNull(sampler, "sampler");
        this.interceptors = interceptors;
        this.sessionSetup = sessionSetup;
    }

    public static Pipeline of(UNetModel unet, Sampler sampler) {
        return new Pipeline(unet, sampler, null, null);
    }

    public Pipeline withSampler(Sampler s) {
        return new Pipeline(unet, s, interceptors, sessionSetup);
    }

    /**
     * Runs on each generation's new session before its first call, e.g. to put per-session settings into the
     * workspace attributes (a quantized model's run-time weight precision).
     */
    public Pipeline withSessionSetup(Consumer<UNetSession> setup) {
        return new Pipeline(unet, sampler, interceptors, setup);
    }

    /**
     * A fresh interceptor for every run (cache policies keep per-run state), or null for full computation. The
     * interceptor is installed on the run's session before the first UNet call.
     */
    public Pipeline withInterceptors(Supplier<? extends NodeInterceptor> perRun) {
        return new Pipeline(unet, sampler, perRun, sessionSetup);
    }

    public UNetModel unet() {
        return unet;
    }

    public Sampler sampler() {
        return sampler;
    }

    /** Runs one generation and returns the final latents (for pixel models: images in [-1, 1]). */
    public GenerationResult generate(Generation g) {
        int batch = g.batchSize();
        int[] size = sampleSize(g);
        int[] shape = {batch, unet.inChannels(), size[0], size[1]};
        long start = System.nanoTime();
        try (UNetSession session = unet.newSession()) {
            if (sessionSetup != null) sessionSetup.accept(session);
            if (interceptors != null) session.setInterceptor(interceptors.get());
            UNetDiffusionModel model = new UNetDiffusionModel(session);
            Denoiser denoiser = denoiser(model, g);
            SamplingRequest request = new SamplingRequest(g.steps(), shape, g.newNoise(), null, 1.0, g.callback());
            Latents out = sampler.sample(denoiser, request);
            return new GenerationResult(out, model.calls(), model.macsDone(), model.macsFull(), System.nanoTime() - start);
        }
    }

    private static Denoiser denoiser(UNetDiffusionModel model, Generation g) {
        if (g.cond() == null) return Guidance.unconditional(model);
        if (g.uncond() != null && g.guidanceScale() > 1) {
            return Guidance.classifierFree(model, g.uncond(), g.cond(), g.guidanceScale(), 0);
        }
        return Guidance.conditioned(model, g.cond());
    }

    private int[] sampleSize(Generation g) {
        if (g.height() > 0 && g.width() > 0) return new int[] {g.height(), g.width()};
        Integer s = unet instanceof UNet2DModel m ? m.config().sampleSize() : null;
        if (s == null) {
            throw new IllegalArgumentException("the model's config has no usable sample_size; give the size with Generation.size(h, w)");
        }
        return new int[] {g.height() > 0 ? g.height() : s, g.width() > 0 ? g.width() : s};
    }
}
