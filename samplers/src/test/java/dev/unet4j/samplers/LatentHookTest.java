package dev.unet4j.samplers;

import dev.unet4j.samplers.ddim.DdimSampler;
import dev.unet4j.samplers.kdiffusion.EulerSampler;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The step-start latent hook in every sampler: where it fires, what it sees, that its edits persist. */
class LatentHookTest {
    private static final GaussianData DATA = new GaussianData(0.1, 0.6);
    private static final SchedulerConfig SD = SchedulerConfig.parse("""
            {"_class_name": "PNDMScheduler", "beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012,
             "steps_offset": 1, "set_alpha_to_one": false, "clip_sample": false, "skip_prk_steps": true}""");
    private static final int[] SHAPE = {1, 4, 4, 4};
    private static final int STEPS = 5;

    private static Sampler sampler(String name) {
        return Samplers.byName(name, SamplerOptions.of(SD).withEta(1.0)
                .withChurn(new EulerSampler.Churn(1.0, 0, Double.POSITIVE_INFINITY, 1)));
    }

    private static SamplingRequest request(LatentHook hook) {
        return SamplingRequest.of(STEPS, SHAPE, NoiseSource.seeded(3)).withLatentHook(hook);
    }

    /**
     * Every sampler calls the hook once per step, before the step's first evaluation, with that evaluation's call
     * index, timestep and sigma, the latents the step starts from and the run's first latents; a hook that returns
     * its input changes nothing, and neither does one that returns equal new latents (EDM's float64 state included).
     */
    @Test
    void everySamplerCallsItOncePerStepBeforeTheStepsFirstEvaluation() {
        for (String name : Samplers.NAMES) {
            Sampler s = sampler(name);
            Latents plain = s.sample(DATA.epsilonModel(), request(null));
            Map<Integer, ModelCall> firstCalls = new LinkedHashMap<>();
            List<StepStart> starts = new ArrayList<>();
            List<Latents> seen = new ArrayList<>();
            Denoiser recording = (x, call) -> {
                firstCalls.putIfAbsent(call.stepIndex(), call);
                return DATA.epsilonModel().predict(x, call);
            };
            Latents same = s.sample(recording, request((step, x) -> {
                assertEquals(step.stepIndex(), firstCalls.size(), name + ": the hook runs before the step's first evaluation");
                starts.add(step);
                seen.add(x.copy());
                return x;
            }));
            assertArrayEquals(plain.data(), same.data(), name + ": an identity hook changes nothing");
            // PNDM's schedule has one entry more than its steps (the second timestep twice), each a step of its loop
            assertEquals(name.equals("pndm") ? STEPS + 1 : STEPS, starts.size(), name);
            for (StepStart st : starts) {
                ModelCall first = firstCalls.get(st.stepIndex());
                assertEquals(first.callIndex(), st.callIndex(), name + " step " + st.stepIndex());
                assertEquals(first.timestep(), st.timestep(), name + " step " + st.stepIndex());
                assertEquals(first.sigma(), st.sigma(), name + " step " + st.stepIndex());
                assertArrayEquals(seen.get(0).data(), st.initial().data(), name + ": x_T is the first step's latents");
            }
            Latents copied = s.sample(DATA.epsilonModel(), request((step, x) -> x.copy()));
            assertArrayEquals(plain.data(), copied.data(), name + ": equal new latents change nothing");
        }
    }

    @Test
    void xTIsTheSamplersStartLatents() {
        Latents noise = NoiseSource.seeded(3).initial(SHAPE);
        Latents[] initial = new Latents[1];
        sampler("ddim").sample(DATA.epsilonModel(), request((step, x) -> {
            initial[0] = step.initial();
            return x;
        }));
        assertArrayEquals(noise.data(), initial[0].data(), "DDIM starts from the noise itself");
        EulerSampler euler = EulerSampler.fromConfig(SD);
        euler.sample(DATA.epsilonModel(), request((step, x) -> {
            initial[0] = step.initial();
            return x;
        }));
        float scale = euler.schedule(STEPS).initNoiseSigma();
        assertTrue(scale > 1);
        for (int k = 0; k < noise.numel(); k++) assertEquals(noise.data()[k] * scale, initial[0].data()[k], "Euler: noise * init_noise_sigma");
    }

    /** An edit at a step start persists in the sampler's state: DDIM by hand with the same edit. */
    @Test
    void editsPersistInTheRunningLatents() {
        DdimSampler ddim = DdimSampler.fromConfig(SD);
        long[] ts = ddim.timesteps(STEPS);
        Denoiser m = DATA.epsilonModel();
        LatentHook shift = (step, x) -> {
            if (step.stepIndex() != 2) return x;
            float[] d = x.data().clone();
            for (int k = 0; k < d.length; k++) d[k] += 0.25f * step.initial().data()[k];
            return x.withData(d);
        };
        Latents hooked = ddim.sample(m, request(shift));
        Latents x = NoiseSource.seeded(3).initial(SHAPE);
        float[] xT = x.data().clone();
        for (int i = 0; i < ts.length; i++) {
            if (i == 2) {
                float[] d = x.data().clone();
                for (int k = 0; k < d.length; k++) d[k] += 0.25f * xT[k];
                x = x.withData(d);
            }
            Latents eps = m.predict(x, new ModelCall(i, i, ts[i], ddim.schedule().sigma((int) ts[i])));
            x = ddim.step(eps, ts[i], ddim.prevTimestep(ts, i), x, null).prevSample();
        }
        assertArrayEquals(x.data(), hooked.data());
        assertNotEquals(ddim.sample(m, request(null)), hooked);
    }

    @Test
    void aHookMustReturnLatentsOfTheSameShape() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> sampler("euler").sample(DATA.epsilonModel(), request((step, x) -> Latents.zeros(1, 4, 2, 2))));
        assertTrue(e.getMessage().contains("the latents the hook returned at step 0 has shape [1, 4, 2, 2]"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> sampler("ddim").sample(DATA.epsilonModel(), request((step, x) -> null)));
    }
}
