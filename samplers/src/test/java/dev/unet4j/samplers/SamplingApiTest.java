package dev.unet4j.samplers;

import dev.unet4j.core.random.TorchGenerator;
import dev.unet4j.samplers.ddim.DdimSampler;
import dev.unet4j.samplers.guidance.ClassConditioning;
import dev.unet4j.samplers.guidance.Conditioning;
import dev.unet4j.samplers.guidance.DiffusionModel;
import dev.unet4j.samplers.guidance.Guidance;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.samplers.kdiffusion.EulerSampler;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Factory, noise sources, callbacks/cancellation, img2img timestep selection and guidance batching. */
class SamplingApiTest {
    private static final GaussianData DATA = new GaussianData(0.1, 0.6);
    private static final SchedulerConfig SD = SchedulerConfig.parse("""
            {"_class_name": "PNDMScheduler", "beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012,
             "steps_offset": 1, "set_alpha_to_one": false, "clip_sample": false, "skip_prk_steps": true}""");

    @Test
    void factoryKnowsEveryNameAndListsThemOnError() {
        for (String name : Samplers.NAMES) assertEquals(name, Samplers.byName(name, SamplerOptions.of(SD)).name());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Samplers.byName("plms", SamplerOptions.of(SD)));
        assertTrue(e.getMessage().contains("'plms'") && e.getMessage().contains("dpmpp-2m-karras, edm-euler, edm-heun"),
                e.getMessage());
    }

    @Test
    void perItemSeedsEqualSeparateBatchOneRuns() {
        Sampler s = Samplers.byName("euler-ancestral", SamplerOptions.of(SD));
        int[] one = {1, 4, 4, 4};
        int[] two = {2, 4, 4, 4};
        Latents a = s.sample(DATA.epsilonModel(), SamplingRequest.of(6, one, NoiseSource.seeded(11)));
        Latents b = s.sample(DATA.epsilonModel(), SamplingRequest.of(6, one, NoiseSource.seeded(12)));
        Latents both = s.sample(DATA.epsilonModel(), SamplingRequest.of(6, two, NoiseSource.perItem(11, 12)));
        assertArrayEquals(Latents.concat(a, b).data(), both.data());
        // one generator for the whole batch is a different stream
        Latents single = s.sample(DATA.epsilonModel(), SamplingRequest.of(6, two, NoiseSource.seeded(11)));
        assertNotEquals(both, single);
    }

    @Test
    void resultsAreDeterministicForASeed() {
        for (String name : Samplers.NAMES) {
            Sampler s = Samplers.byName(name, SamplerOptions.of(SD).withEta(1.0)
                    .withChurn(new EulerSampler.Churn(1.0, 0, Double.POSITIVE_INFINITY, 1)));
            Latents a = s.sample(DATA.epsilonModel(), SamplingRequest.of(5, new int[] {1, 4, 4, 4}, NoiseSource.seeded(3)));
            Latents b = s.sample(DATA.epsilonModel(), SamplingRequest.of(5, new int[] {1, 4, 4, 4}, NoiseSource.seeded(3)));
            assertEquals(a, b, name);
        }
    }

    @Test
    void callbackSeesEveryStepAndCanCancel() {
        Sampler s = Samplers.byName("heun-karras", SamplerOptions.of(SD));
        List<StepInfo> seen = new ArrayList<>();
        SamplingRequest req = SamplingRequest.of(5, new int[] {1, 4, 2, 2}, NoiseSource.seeded(1)).withCallback(info -> {
            seen.add(info);
            return info.stepIndex() < 2;
        });
        SamplingCancelledException e = assertThrows(SamplingCancelledException.class, () -> s.sample(DATA.epsilonModel(), req));
        assertEquals(2, e.stepIndex());
        assertEquals(3, seen.size());
        assertEquals(List.of(0, 1, 2), seen.stream().map(StepInfo::stepIndex).toList());
        assertEquals(List.of(1, 3, 5), seen.stream().map(StepInfo::callIndex).toList(), "Heun: two calls per step");
        assertEquals(5, seen.get(0).totalSteps());

        SamplingRequest throwing = SamplingRequest.of(5, new int[] {1, 4, 2, 2}, NoiseSource.seeded(1)).withCallback(info -> {
            throw new SamplingCancelledException(info.stepIndex(), "user");
        });
        assertThrows(SamplingCancelledException.class, () -> Samplers.byName("ddim", SamplerOptions.of(SD))
                .sample(DATA.epsilonModel(), throwing));
    }

    @Test
    void img2imgFollowsDiffusersTimestepSelectionAndAddNoise() {
        DdimSampler ddim = DdimSampler.fromConfig(SD.with("_class_name", "DDIMScheduler"));
        int[] shape = {1, 4, 2, 2};
        Latents image = Latents.randn(new TorchGenerator(9), shape);
        List<ModelCall> calls = new ArrayList<>();
        Denoiser m = DATA.epsilonModel();
        SamplingRequest req = SamplingRequest.of(10, shape, NoiseSource.seeded(4)).withInitImage(image, 0.75);
        // diffusers: init_timestep = int(10 * 0.75) = 7, t_start = 3, timesteps[3:] = 601 ... 1
        assertEquals(3, req.startStep());
        ddim.sample((x, c) -> {
            if (calls.isEmpty()) {
                Latents expected = ddim.addNoise(image, Latents.randn(new TorchGenerator(4), shape), 601);
                assertArrayEquals(expected.data(), x.data(), "first input is add_noise(image, noise, 601)");
            }
            calls.add(c);
            return m.predict(x, c);
        }, req);
        assertEquals(7, calls.size());
        assertEquals(601, calls.get(0).timestep());
        assertEquals(0, calls.get(0).stepIndex());
        assertEquals(1, calls.get(6).timestep());
        // plain re-statement of add_noise: sqrt(a) x0 + sqrt(1-a) n
        float a = ddim.schedule().alphaCumprod(601);
        Latents n = Latents.randn(new TorchGenerator(4), shape);
        Latents noisy = ddim.addNoise(image, n, 601);
        for (int i = 0; i < n.numel(); i++) {
            assertEquals(Math.sqrt(a) * image.data()[i] + Math.sqrt(1 - a) * n.data()[i], noisy.data()[i], 1e-6);
        }
    }

    @Test
    void classifierFreeGuidanceIsOneBatchedCallUncondFirst() {
        int[] shape = {2, 3, 2, 2};
        TextConditioning cond = new TextConditioning(new float[] {1, 2, 3, 4, 5, 6}, new int[] {2, 1, 3});
        TextConditioning uncond = new TextConditioning(new float[6], new int[] {2, 1, 3});
        List<Conditioning> seen = new ArrayList<>();
        // a fake network whose output depends on the conditioning and the input
        DiffusionModel net = (x, call, c) -> {
            seen.add(c);
            float[] e = ((TextConditioning) c).data();
            float[] out = new float[x.numel()];
            int item = x.itemSize();
            for (int i = 0; i < out.length; i++) out[i] = x.data()[i] * 0.5f + e[(i / item) * 3] + (i % item) % 5;
            return x.withData(out);
        };
        Latents x = Latents.randn(new TorchGenerator(2), shape);
        Latents guided = Guidance.classifierFree(net, uncond, cond, 7.5, 0.0).predict(x, new ModelCall(0, 0, 10, 1));
        assertEquals(1, seen.size(), "one batched call");
        TextConditioning both = (TextConditioning) seen.get(0);
        assertArrayEquals(new int[] {4, 1, 3}, both.shape());
        assertArrayEquals(new float[] {0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6}, both.data(), "cat([uncond, cond])");
        Latents u = net.forward(x, null, uncond);
        Latents c = net.forward(x, null, cond);
        for (int i = 0; i < x.numel(); i++) {
            assertEquals(u.data()[i] + 7.5 * (c.data()[i] - u.data()[i]), guided.data()[i], 1e-5);
        }
        // guidance_rescale 0.7: per item, rescale to the conditional std then mix (rescale_noise_cfg)
        Latents rescaled = Guidance.classifierFree(net, uncond, cond, 7.5, 0.7).predict(x, new ModelCall(0, 0, 10, 1));
        int item = x.itemSize();
        for (int b = 0; b < 2; b++) {
            double stdC = std(c.data(), b * item, item);
            double stdG = std(guided.data(), b * item, item);
            for (int i = b * item; i < (b + 1) * item; i++) {
                double expected = 0.7 * guided.data()[i] * stdC / stdG + 0.3 * guided.data()[i];
                assertEquals(expected, rescaled.data()[i], 1e-4);
            }
        }
        // a scale <= 1 is a single conditioned call, as diffusers' do_classifier_free_guidance
        seen.clear();
        assertArrayEquals(c.data(), Guidance.classifierFree(net, uncond, cond, 1.0, 0).predict(x, null).data());
        assertEquals(1, seen.size());
        assertEquals(2, seen.get(0).batchSize(), "cond only, not doubled");
    }

    @Test
    void classConditionalGuidanceUsesTheNullClass() {
        List<long[]> seen = new ArrayList<>();
        DiffusionModel net = (x, call, c) -> {
            long[] l = ((ClassConditioning) c).labels();
            seen.add(l);
            float[] out = new float[x.numel()];
            for (int i = 0; i < out.length; i++) out[i] = l[i / x.itemSize()];
            return x.withData(out);
        };
        Latents x = Latents.zeros(2, 1, 1, 1);
        Latents g = Guidance.classConditional(net, new long[] {3, 5}, 10, 2.0).predict(x, null);
        assertArrayEquals(new long[] {10, 10, 3, 5}, seen.get(0));
        assertArrayEquals(new float[] {10 + 2 * (3 - 10), 10 + 2 * (5 - 10)}, g.data());
    }

    @Test
    void eulerImg2imgStartsFromTheNoisedImageAtTheBeginSigma() {
        EulerSampler euler = EulerSampler.fromConfig(SD.with("timestep_spacing", "leading"));
        int[] shape = {1, 4, 2, 2};
        Latents image = Latents.randn(new TorchGenerator(9), shape);
        float sigma3 = euler.schedule(10).sigmas()[3];
        List<ModelCall> calls = new ArrayList<>();
        Denoiser m = DATA.epsilonModel();
        euler.sample((x, c) -> {
            if (calls.isEmpty()) {
                Latents n = Latents.randn(new TorchGenerator(4), shape);
                double scale = Math.sqrt(sigma3 * sigma3 + 1);
                for (int i = 0; i < x.numel(); i++) {
                    assertEquals((image.data()[i] + n.data()[i] * sigma3) / scale, x.data()[i], 1e-5, "scaled noised image");
                }
            }
            calls.add(c);
            return m.predict(x, c);
        }, SamplingRequest.of(10, shape, NoiseSource.seeded(4)).withInitImage(image, 0.7));
        assertEquals(7, calls.size());
        assertEquals(601, calls.get(0).timestep(), 0.0);
        assertEquals(sigma3, calls.get(0).sigma(), 0.0);
    }

    @Test
    void customSigmasReproduceTheKarrasRun() {
        EulerSampler karras = (EulerSampler) Samplers.byName("euler-karras", SamplerOptions.of(SD));
        float[] sig = karras.schedule(8).sigmas();
        double[] custom = new double[sig.length];
        for (int i = 0; i < sig.length; i++) custom[i] = sig[i];
        EulerSampler plain = (EulerSampler) Samplers.byName("euler", SamplerOptions.of(SD));
        plain = plain.withOptions(dev.unet4j.samplers.kdiffusion.SigmaOptions.fromConfig(SD).withCustomSigmas(custom));
        int[] shape = {1, 4, 2, 2};
        // the sigma list fixes the noise levels; init_noise_sigma follows the spacing rule of the config
        assertArrayEquals(sig, plain.schedule(8).sigmas());
        Latents a = karras.sample(DATA.epsilonModel(), SamplingRequest.of(8, shape, NoiseSource.seeded(5)));
        Latents b = plain.sample(DATA.epsilonModel(), SamplingRequest.of(8, shape, NoiseSource.seeded(5)));
        assertArrayEquals(a.data(), b.data());
    }

    private static double std(float[] v, int off, int n) {
        double mean = 0;
        for (int i = off; i < off + n; i++) mean += v[i];
        mean /= n;
        double ss = 0;
        for (int i = off; i < off + n; i++) ss += (v[i] - mean) * (v[i] - mean);
        return Math.sqrt(ss / (n - 1));
    }
}
