package dev.unet4j.pipeline.denoising;

import dev.unet4j.samplers.Denoiser;
import dev.unet4j.samplers.LatentHook;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.NoiseSource;
import dev.unet4j.samplers.Sampler;
import dev.unet4j.samplers.SamplingRequest;
import dev.unet4j.samplers.StepCallback;
import dev.unet4j.samplers.guidance.DiffusionModel;
import dev.unet4j.samplers.guidance.Guidance;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.config.SampleSize;
import dev.unet4j.unet.UNetSession;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A UNet and a sampler, ready to generate: conditioning, classifier-free guidance (one batched UNet call per
 * evaluation, as diffusers), per-item seeds, a progress callback, and optionally a per-run {@link RunModel.Factory}
 * that wraps the network (a feature cache).
 *
 * <pre>{@code
 * Pipeline p = Pipeline.of(unet, Samplers.byName("ddim", SamplerOptions.of(schedulerConfig)));
 * GenerationResult r = p.generate(Generation.of(25).classes(3).seeds(42).guidance(1.5, 10));
 * }</pre>
 *
 * Immutable, and thread-safe when the model is: every {@link #generate} call opens its own {@link UNetSession}, so
 * runs never share state and a run's UNet calls are numbered from 0 like the sampler's
 * {@link dev.unet4j.samplers.ModelCall#callIndex()}. The model is borrowed: closing it stays the caller's job.
 */
public final class Pipeline {
    private final UNetModel unet;
    private final Sampler sampler;
    private final RunModel.Factory runModel;
    private final Consumer<UNetSession> sessionSetup;

    private Pipeline(UNetModel unet, Sampler sampler, RunModel.Factory runModel, Consumer<UNetSession> sessionSetup) {
        this.unet = Objects.requireNonNull(unet, "unet");
        this.sampler = Objects.requireNonNull(sampler, "sampler");
        this.runModel = Objects.requireNonNull(runModel, "runModel");
        this.sessionSetup = sessionSetup;
    }

    public static Pipeline of(UNetModel unet, Sampler sampler) {
        return new Pipeline(unet, sampler, (session, plan) -> RunModel.plain(session), null);
    }

    public Pipeline withSampler(Sampler s) {
        return new Pipeline(unet, s, runModel, sessionSetup);
    }

    /**
     * How each run wraps its session into the network the sampler calls, e.g. a feature cache:
     * {@code (session, plan) -> RunModel.of(new CachedDiffusionModel(cache), cache)} with
     * {@code cache = CacheSession.open(session, policy, GenerationInfo.withTimesteps(plan.callTimesteps()))}.
     */
    public Pipeline withRunModel(RunModel.Factory factory) {
        return new Pipeline(unet, sampler, factory, sessionSetup);
    }

    /**
     * Runs on each run's new session before anything else, e.g. to put per-session settings into the workspace
     * attributes (a quantized model's run-time weight precision) or to install a {@code NodeInterceptor}.
     */
    public Pipeline withSessionSetup(Consumer<UNetSession> setup) {
        return new Pipeline(unet, sampler, runModel, setup);
    }

    public UNetModel unet() {
        return unet;
    }

    public Sampler sampler() {
        return sampler;
    }

    /** Runs one generation and returns the final latents (for pixel models: images in [-1, 1]). */
    public GenerationResult generate(Generation g) {
        int[] shape = shape(g);
        long start = System.nanoTime();
        RunPlan plan = plan(g.steps(), shape, g.initLatents() == null ? 1.0 : g.strength())
                .withSeed(g.seeds() == null ? 0 : g.seeds()[0]);
        try (UNetSession session = unet.newSession()) {
            if (sessionSetup != null) sessionSetup.accept(session);
            try (RunModel model = runModel.open(session, plan)) {
                SamplingRequest request = new SamplingRequest(g.steps(), shape, g.newNoise(), g.initLatents(),
                        g.initLatents() == null ? 1.0 : g.strength(), g.callback(), chain(g.latentHook(), model.latentHook()));
                Latents out = sampler.sample(denoiser(model.model(), g), request);
                return new GenerationResult(out, plan.totalCalls(), model.macsDone(), model.macsFull(), System.nanoTime() - start);
            }
        }
    }

    /**
     * The UNet calls a run of {@code steps} on latents of {@code shape} makes, found by running the sampler on a
     * zero network with zero noise: the samplers' timesteps never depend on the model's outputs.
     */
    public RunPlan plan(int steps, int[] shape) {
        return plan(steps, shape, 1.0);
    }

    /** The plan of an img2img run with {@code strength} (1: text-to-image, the whole schedule). */
    public RunPlan plan(int steps, int[] shape, double strength) {
        List<Double> timesteps = new ArrayList<>();
        Denoiser zero = (x, call) -> {
            timesteps.add(call.timestep());
            return Latents.zeros(x.shape());
        };
        NoiseSource zeros = new NoiseSource() {
            @Override
            public Latents initial(int[] s) {
                return Latents.zeros(s);
            }

            @Override
            public Latents step(int stepIndex, int[] s) {
                return Latents.zeros(s);
            }
        };
        Latents init = strength < 1 ? Latents.zeros(shape) : null;
        sampler.sample(zero, new SamplingRequest(steps, shape, zeros, init, strength, StepCallback.NONE));
        return new RunPlan(shape, steps, timesteps.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /** {@code first}, then {@code second}, either may be null. */
    private static LatentHook chain(LatentHook first, LatentHook second) {
        if (first == null) return second;
        if (second == null) return first;
        return (step, x) -> second.beforeStep(step, first.beforeStep(step, x));
    }

    private static Denoiser denoiser(DiffusionModel net, Generation g) {
        DiffusionModel model = g.extraChannels() == null ? net : withExtraChannels(net, g.extraChannels());
        if (g.cond() == null) return Guidance.unconditional(model);
        if (g.uncond() != null && g.guidanceScale() > 1) {
            return Guidance.classifierFree(model, g.uncond(), g.cond(), g.guidanceScale(), g.guidanceRescale());
        }
        return Guidance.conditioned(model, g.cond());
    }

    /** {@code cat([x, extra], dim=1)} before every call, {@code extra} repeated over x's batch. */
    private static DiffusionModel withExtraChannels(DiffusionModel net, Latents extra) {
        return (x, call, cond) -> {
            int b = x.batch(), c = x.shape()[1], e = extra.shape()[1], plane = x.shape()[2] * x.shape()[3];
            if (extra.shape()[2] != x.shape()[2] || extra.shape()[3] != x.shape()[3] || b % extra.batch() != 0) {
                throw new IllegalArgumentException("extra channels " + java.util.Arrays.toString(extra.shape())
                        + " do not fit latents " + java.util.Arrays.toString(x.shape()));
            }
            float[] out = new float[b * (c + e) * plane];
            for (int i = 0; i < b; i++) {
                System.arraycopy(x.data(), i * c * plane, out, i * (c + e) * plane, c * plane);
                int src = (i % extra.batch()) * e * plane;
                System.arraycopy(extra.data(), src, out, (i * (c + e) + c) * plane, e * plane);
            }
            return net.forward(new Latents(out, new int[] {b, c + e, x.shape()[2], x.shape()[3]}), call, cond);
        };
    }

    /**
     * The latent shape of {@code g}: its batch, the model's input channels (less the extra channels), its size or the
     * config's sample_size.
     */
    public int[] shape(Generation g) {
        int[] size = sampleSize(g);
        int extra = g.extraChannels() == null ? 0 : g.extraChannels().shape()[1];
        if (extra >= unet.inChannels()) {
            throw new IllegalArgumentException(extra + " extra channels for a UNet with " + unet.inChannels() + " input channels");
        }
        return new int[] {g.batchSize(), unet.inChannels() - extra, size[0], size[1]};
    }

    private int[] sampleSize(Generation g) {
        if (g.height() > 0 && g.width() > 0) return new int[] {g.height(), g.width()};
        SampleSize s = unet.sampleSize(); // UNet2DModel and UNet2DConditionModel alike
        if (s == null) {
            throw new IllegalArgumentException("the model's config gives no sample_size; set it with Generation.size(h, w)");
        }
        return new int[] {g.height() > 0 ? g.height() : s.height(), g.width() > 0 ? g.width() : s.width()};
    }
}
