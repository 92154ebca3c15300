package dev.unet4j.pipeline.denoising;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.caching.CacheSession;
import dev.unet4j.caching.CallReport;
import dev.unet4j.caching.GenerationInfo;
import dev.unet4j.caching.TestModels;
import dev.unet4j.caching.policy.EncoderPropagation;
import dev.unet4j.samplers.Denoiser;
import dev.unet4j.samplers.LatentHook;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.ModelCall;
import dev.unet4j.samplers.NoiseSource;
import dev.unet4j.samplers.Sampler;
import dev.unet4j.samplers.SamplerOptions;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.SamplingRequest;
import dev.unet4j.samplers.ddim.DdimSampler;
import dev.unet4j.samplers.guidance.Guidance;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.samplers.kdiffusion.DiscreteSchedule;
import dev.unet4j.samplers.kdiffusion.EulerSampler;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Faster Diffusion's prior-noise injection ({@code faster:...,noise=s,noise-below=T}) against plain loops that
 * re-state it: the sampler's update written out by hand around the same policy without injection, adding
 * {@code s * x_T} to the running latents before each step whose timestep is below T (the official
 * {@code register_normal_pipeline} loop).
 */
class PriorNoiseTest extends GuidedTinySd {
    static final int STEPS = 4;
    static final int[] SHAPE = {1, 4, 16, 16};
    static final long SEED = 11;

    static SchedulerConfig config() {
        return SchedulerConfig.defaults();
    }

    /** Generations already run, by sampler and policy (the machine is shared: each one runs once). */
    static final Map<String, Latents> RUNS = new HashMap<>();

    static Latents pipeline(Sampler sampler, String policy) {
        return RUNS.computeIfAbsent(sampler.name() + " " + policy, k -> generate(sampler, policy));
    }

    private static Latents generate(Sampler sampler, String policy) {
        Pipeline p = Pipeline.of(sd.model, sampler).withRunModel(CachedRunModel.factory(CachePolicies.parse(policy)));
        return p.generate(Generation.of(STEPS).size(SHAPE[2], SHAPE[3]).seeds(SEED).conditioning(cond)).latents();
    }

    /** x + s * xT in float32, as torch's {@code latents + s * init_latents}. */
    static Latents inject(Latents x, float s, float[] xT) {
        float[] d = x.data();
        float[] out = new float[d.length];
        for (int k = 0; k < d.length; k++) out[k] = d[k] + s * xT[k];
        return x.withData(out);
    }

    /** The official loop for DDIM: init_latents = noise; per t: inject if t < T, UNet, scheduler step. */
    static Latents ddimByHand(String policyWithoutNoise, float s, double below) {
        return RUNS.computeIfAbsent("hand " + policyWithoutNoise + " " + s + " " + below, k -> ddimLoop(policyWithoutNoise, s, below));
    }

    private static Latents ddimLoop(String policyWithoutNoise, float s, double below) {
        DdimSampler ddim = DdimSampler.fromConfig(config());
        long[] ts = ddim.timesteps(STEPS);
        try (UNetSession session = sd.model.newSession();
             CacheSession cache = CacheSession.open(session, CachePolicies.parse(policyWithoutNoise),
                     GenerationInfo.withTimesteps(Arrays.stream(ts).asDoubleStream().toArray()))) {
            assertNull(cache.latentHook(), "the hand loop's policy injects nothing itself");
            Denoiser d = Guidance.conditioned(new CachedDiffusionModel(cache), cond);
            Latents x = NoiseSource.seeded(SEED).initial(SHAPE);
            float[] xT = x.data().clone();
            for (int i = 0; i < ts.length; i++) {
                if (ts[i] < below) x = inject(x, s, xT);
                Latents eps = d.predict(x, new ModelCall(i, i, ts[i], ddim.schedule().sigma((int) ts[i])));
                x = ddim.step(eps, ts[i], ddim.prevTimestep(ts, i), x, null).prevSample();
            }
            return x;
        }
    }

    /**
     * The same for Euler (epsilon, no churn): init_latents = noise * init_noise_sigma; per entry: inject if t < T,
     * the UNet on x / (sigma^2 + 1)^0.5, x0 = x - sigma eps, x += (x - x0) / sigma * (sigma_next - sigma).
     */
    static Latents eulerByHand(EulerSampler euler, String policyWithoutNoise, float s, double below) {
        DiscreteSchedule sch = euler.schedule(STEPS);
        double[] ts = sch.timesteps();
        float[] sig = sch.sigmas();
        try (UNetSession session = sd.model.newSession();
             CacheSession cache = CacheSession.open(session, CachePolicies.parse(policyWithoutNoise), GenerationInfo.withTimesteps(ts))) {
            Denoiser d = Guidance.conditioned(new CachedDiffusionModel(cache), cond);
            float[] noise = NoiseSource.seeded(SEED).initial(SHAPE).data();
            float[] x = new float[noise.length];
            for (int k = 0; k < x.length; k++) x[k] = noise[k] * sch.initNoiseSigma();
            float[] xT = x.clone();
            for (int i = 0; i < ts.length; i++) {
                if (ts[i] < below) x = inject(new Latents(x, SHAPE), s, xT).data();
                float sigma = sig[i];
                float c = (float) Math.sqrt(sigma * sigma + 1.0f);
                float[] in = new float[x.length];
                for (int k = 0; k < x.length; k++) in[k] = x[k] / c;
                float[] eps = d.predict(new Latents(in, SHAPE), new ModelCall(i, i, ts[i], sigma)).data();
                float dt = sig[i + 1] - sigma;
                float[] next = new float[x.length];
                for (int k = 0; k < x.length; k++) {
                    float x0 = x[k] - sigma * eps[k];
                    next[k] = x[k] + (x[k] - x0) / sigma * dt;
                }
                x = next;
            }
            return new Latents(x, SHAPE);
        }
    }

    @Test
    void ddimWithInjectionEqualsTheOfficialLoopByHand() {
        DdimSampler ddim = DdimSampler.fromConfig(config());
        // diffusers' DDIM "leading" spacing for 4 of 1000 steps: t = 500 (step 1) is not below 500
        assertArrayEquals(new long[] {750, 500, 250, 0}, ddim.timesteps(STEPS));
        Latents expected = ddimByHand("faster:keys=0,2", 0.003f, 500);
        Latents actual = pipeline(ddim, "faster:keys=0,2,noise=0.003");
        assertArrayEquals(expected.data(), actual.data(), "key 2 injected before its UNet call, non-key 3 too");
        assertFalse(Arrays.equals(expected.data(), pipeline(ddim, "faster:keys=0,2").data()), "the injection changes the sample");
    }

    @Test
    void parallelModeInjectsLikeTheSequentialLoop() {
        Latents expected = ddimByHand("faster:keys=0,2", 0.003f, 500);
        Latents actual = pipeline(DdimSampler.fromConfig(config()), "faster:keys=0,2,noise=0.003;parallel");
        // batched decoders round differently from one-call ones (1e-5 per call), and that carries through the steps
        TestModels.assertClose("parallel", expected.data(), actual.data(), 1e-4);
    }

    @Test
    void eulerInjectsTheSigmaScaledStartLatents() {
        EulerSampler euler = EulerSampler.fromConfig(config());
        Latents expected = eulerByHand(euler, "faster:keys=0,2", 0.003f, 500);
        Latents actual = pipeline(euler, "faster:keys=0,2,noise=0.003");
        assertArrayEquals(expected.data(), actual.data());
        assertTrue(euler.schedule(STEPS).initNoiseSigma() > 10, "x_T is noise * init_noise_sigma, not the raw noise");
    }

    @Test
    void zeroStrengthOrAThresholdNeverReachedIsTheUninjectedRunBitForBit() {
        DdimSampler ddim = DdimSampler.fromConfig(config());
        Latents plain = pipeline(ddim, "faster:keys=0,2");
        assertArrayEquals(plain.data(), pipeline(ddim, "faster:keys=0,2,noise=0").data(), "noise=0");
        assertArrayEquals(plain.data(), pipeline(ddim, "faster:keys=0,2,noise=0.003,noise-below=0").data(), "t < 0 never holds");
        try (UNetSession s = sd.model.newSession();
             CacheSession off = CacheSession.open(s, CachePolicies.parse("faster:keys=0,2,noise=0"), GenerationInfo.calls(STEPS))) {
            assertNull(off.latentHook(), "strength 0 installs no hook at all");
        }
    }

    /**
     * The steps whose start is edited are exactly those whose first evaluation's timestep is below the threshold,
     * as a recording denoiser sees the timesteps; the report labels those calls {@code +noise}.
     */
    @ParameterizedTest
    @CsvSource({"ddim,500", "ddim,100", "euler,500", "heun-karras,500", "dpmpp-2m,500", "edm-heun,500"})
    void theHookFiresExactlyOnStepsBelowTheThreshold(String name, double below) {
        Sampler sampler = Samplers.byName(name, SamplerOptions.of(config()));
        String policy = "faster:keys=0,2,noise=0.003,noise-below=" + below;
        TreeMap<Integer, Double> firstCallOfStep = new TreeMap<>();
        TreeMap<Integer, Integer> stepOfFirstCall = new TreeMap<>();
        List<Integer> fired = new ArrayList<>();
        int calls;
        try (UNetSession s = sd.model.newSession()) {
            calls = countCalls(sampler);
            try (CacheSession cache = CacheSession.open(s, CachePolicies.parse(policy), GenerationInfo.calls(calls))) {
                LatentHook hook = cache.latentHook();
                assertNotNull(hook);
                LatentHook recording = (step, x) -> {
                    Latents y = hook.beforeStep(step, x);
                    if (y != x) fired.add(step.stepIndex());
                    return y;
                };
                Denoiser inner = Guidance.conditioned(new CachedDiffusionModel(cache), cond);
                Denoiser recordingModel = (x, call) -> {
                    firstCallOfStep.putIfAbsent(call.stepIndex(), call.timestep());
                    stepOfFirstCall.putIfAbsent(call.stepIndex(), call.callIndex());
                    return inner.predict(x, call);
                };
                sampler.sample(recordingModel, SamplingRequest.of(STEPS, SHAPE, NoiseSource.seeded(SEED)).withLatentHook(recording));
                Set<Integer> expected = new TreeSet<>();
                firstCallOfStep.forEach((step, t) -> {
                    if (t < below) expected.add(step);
                });
                assertFalse(expected.isEmpty() || expected.size() == STEPS, name + ": the threshold splits the run " + firstCallOfStep);
                assertEquals(expected, new TreeSet<>(fired), name + " timesteps " + firstCallOfStep);
                assertEquals(fired.size(), new TreeSet<>(fired).size(), "once per step");
                Set<Integer> labelled = new TreeSet<>();
                for (CallReport r : cache.report().calls()) if (r.mode().endsWith("+noise")) labelled.add(r.callIndex());
                Set<Integer> expectedCalls = new TreeSet<>();
                for (int step : expected) expectedCalls.add(stepOfFirstCall.get(step));
                assertEquals(expectedCalls, labelled, name + ": the report marks the injected steps' first calls");
            }
        }
    }

    private static int countCalls(Sampler sampler) {
        int[] n = {0};
        sampler.sample((x, call) -> {
            n[0]++;
            return Latents.zeros(x.shape());
        }, SamplingRequest.of(STEPS, SHAPE, NoiseSource.seeded(SEED)));
        return n[0];
    }

    @Test
    void aSecondGenerationOnTheSameSessionStartsOver() {
        DdimSampler ddim = DdimSampler.fromConfig(config());
        try (UNetSession s = sd.model.newSession();
             CacheSession cache = CacheSession.open(s, CachePolicies.parse("faster:keys=0,2,noise=0.003"), GenerationInfo.calls(STEPS))) {
            Denoiser d = Guidance.conditioned(new CachedDiffusionModel(cache), cond);
            for (int run = 0; run < 2; run++) {
                Latents x = ddim.sample(d, SamplingRequest.of(STEPS, SHAPE, NoiseSource.seeded(SEED)).withLatentHook(cache.latentHook()));
                assertArrayEquals(ddimByHand("faster:keys=0,2", 0.003f, 500).data(), x.data(), "run " + run);
                assertEquals(List.of("key", "decode", "key +noise", "decode +noise"),
                        cache.report().calls().stream().map(CallReport::mode).toList(), "run " + run);
            }
        }
    }

    @Test
    void textFormsAndRefusals() {
        for (String text : List.of("faster:keys=0,1,2,3,5,10,15,25,35,noise=0.003,noise-below=500",
                "faster:every=2,group=4,noise=0.01,noise-below=250.5;parallel")) {
            assertEquals(text, CachePolicies.parse(text).spec());
        }
        EncoderPropagation p = (EncoderPropagation) CachePolicies.parse("faster:preset=50,noise=0.003");
        assertEquals(0.003, p.noise());
        assertEquals(500, p.noiseBelow(), "the paper's threshold by default");
        assertEquals("faster:keys=0,1,2,3,5,10,15,25,35,noise=0.003,noise-below=500", p.spec());
        assertEquals("faster:every=2", CachePolicies.parse("faster:every=2,noise=0").spec(), "strength 0 is off");

        String m = assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("faster:every=2,noise=-0.1")).getMessage();
        assertTrue(m.contains("noise=-0.1 is not a prior-noise strength >= 0"), m);
        m = assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("faster:every=2,noise=lots")).getMessage();
        assertTrue(m.contains("noise=lots is not a number"), m);
        m = assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("faster:every=2,noise=Infinity")).getMessage();
        assertTrue(m.contains("noise=Infinity is not a finite number"), m);
        m = assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("faster:every=2,noise-below=500")).getMessage();
        assertTrue(m.contains("noise-below=500 is not valid without noise="), m);
        m = assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("faster:every=2,noise=0.003,noise-below=-1")).getMessage();
        assertTrue(m.contains("noise-below=-1 is not a timestep >= 0"), m);
        m = assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("faster:every=2,noize=0.003")).getMessage();
        assertTrue(m.contains("'noize'") && m.contains("valid keys: keys, every, preset, group, noise, noise-below"), m);
        m = assertThrows(IllegalArgumentException.class, () -> new EncoderPropagation(null, 2, false, 1, Double.NaN, 500)).getMessage();
        assertTrue(m.contains("noise must be a finite number >= 0, got NaN"), m);
    }
}
