package dev.unet4j.pipeline.denoising;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.caching.CacheSession;
import dev.unet4j.caching.CallReport;
import dev.unet4j.caching.GenerationInfo;
import dev.unet4j.caching.GenerationReport;
import dev.unet4j.samplers.Denoiser;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.NoiseSource;
import dev.unet4j.samplers.Sampler;
import dev.unet4j.samplers.SamplerOptions;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.SamplingRequest;
import dev.unet4j.samplers.guidance.Guidance;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;


import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Whole generations with guidance (one batch-2 call per evaluation) through every sampler family: a cache that
 * reuses nothing equals the plain UNetDenoiser run bit for bit, and DeepCache's full calls follow the UNet call
 * index (Heun's repeated timesteps included), with the call count each sampler makes.
 */
class SamplerIntegrationTest extends GuidedTinySd {

    static Latents generate(Sampler sampler, Denoiser d) {
        return sampler.sample(d, SamplingRequest.of(3, new int[] {1, 4, 16, 16}, NoiseSource.seeded(11)));
    }

    @ParameterizedTest
    @CsvSource({"ddim,3", "euler,3", "heun-karras,5", "dpmpp-2m,3", "edm-heun,5"})
    void cachingFollowsTheCallIndexInEverySampler(String name, int calls) {
        Sampler sampler = Samplers.byName(name, SamplerOptions.of(SchedulerConfig.defaults()));
        Latents plain;
        try (UNetSession s = sd.model.newSession()) {
            plain = generate(sampler, Guidance.classifierFree(new UNetDenoiser(s), uncond, cond, 3.0, 0));
        }
        try (UNetSession s = sd.model.newSession();
             CacheSession cache = CacheSession.open(s, CachePolicies.parse("deepcache:interval=1"), GenerationInfo.calls(calls))) {
            Latents cached = generate(sampler, Guidance.classifierFree(new CachedDiffusionModel(cache), uncond, cond, 3.0, 0));
            assertArrayEquals(plain.data(), cached.data(), name + ": nothing reused = plain run");
            assertEquals(calls, cache.report().calls().size());
        }
        try (UNetSession s = sd.model.newSession();
             CacheSession cache = CacheSession.open(s, CachePolicies.parse("deepcache:interval=2"), GenerationInfo.calls(calls))) {
            CachedDiffusionModel model = new CachedDiffusionModel(cache);
            generate(sampler, Guidance.classifierFree(model, uncond, cond, 3.0, 0));
            if (name.equals("heun-karras")) {
                generate(sampler, Guidance.classifierFree(model, uncond, cond, 3.0, 0));   // call 0 again: a new generation
            }
            GenerationReport r = cache.report();
            assertEquals(calls, r.calls().size(), "one generation's calls (a second run resets the session)");
            for (CallReport c : r.calls()) {
                assertEquals(c.callIndex() % 2 == 0 ? "full" : "reuse b=0", c.mode(), name + " call " + c.callIndex());
            }
        }
    }
}
