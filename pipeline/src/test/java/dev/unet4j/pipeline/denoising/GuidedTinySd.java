package dev.unet4j.pipeline.denoising;

import dev.unet4j.caching.CachePolicy;
import dev.unet4j.caching.CacheSession;
import dev.unet4j.caching.GenerationInfo;
import dev.unet4j.caching.GenerationReport;
import dev.unet4j.caching.TestModels;
import dev.unet4j.samplers.Denoiser;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.guidance.Guidance;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.util.function.Function;

/**
 * The tiny text-conditioned UNet of the caching tests with its two guidance halves, loaded once per test class that
 * extends this (JUnit runs a superclass's static {@code @BeforeAll}/{@code @AfterAll} around each subclass).
 */
abstract class GuidedTinySd {
    static TestModels sd;
    static TextConditioning uncond, cond;

    @BeforeAll
    static void loadTinySd() {
        sd = new TestModels(TestModels.SD);
        TextConditioning[] halves = sd.guidanceHalves();
        uncond = halves[0];
        cond = halves[1];
    }

    @AfterAll
    static void closeTinySd() {
        sd.close();
    }

    /** What a generation through a cache policy gave: its final latents and the cache's report. */
    record CachedRun(Latents latents, GenerationReport report) {
    }

    /**
     * {@code generate} over classifier-free guidance at {@code scale} of the two halves, every UNet call going through
     * {@code policy}'s cache session for a generation of {@code calls} calls.
     */
    static CachedRun cachedRun(CachePolicy policy, int calls, double scale, Function<Denoiser, Latents> generate) {
        try (UNetSession s = sd.model.newSession();
             CacheSession cache = CacheSession.open(s, policy, GenerationInfo.calls(calls))) {
            Latents x = generate.apply(Guidance.classifierFree(new CachedDiffusionModel(cache), uncond, cond, scale, 0));
            return new CachedRun(x, cache.report());
        }
    }
}
