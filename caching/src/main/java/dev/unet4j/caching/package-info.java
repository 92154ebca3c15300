/**
 * Feature caching and skip scaling for diffusers UNets, per generation.
 *
 * <p>The model ({@link dev.unet4j.unet.UNetModel}) stays shared and immutable; a {@link dev.unet4j.caching.CacheSession}
 * is opened per generation on a {@link dev.unet4j.unet.UNetSession} with a {@link dev.unet4j.caching.CachePolicy}
 * (parsed from text by {@link dev.unet4j.caching.CachePolicies#parse}, composed with {@code +}) and installs itself as
 * the session's interceptor. Calls are numbered by the sampler's call index (never by timestep values); call 0 starts
 * a new generation. Every call is reported ({@link dev.unet4j.caching.CallReport}): the nodes computed, MACs done vs
 * full compute, the bytes held; {@link dev.unet4j.caching.CacheOptions} bounds those bytes.
 *
 * <p>The samplers reach a cache session through the pipeline module's {@code CachedDiffusionModel} (the glue lives
 * there, so this module depends on neither):
 *
 * <pre>{@code
 * try (UNetSession s = model.newSession();
 *      CacheSession cache = CacheSession.open(s, CachePolicies.parse("deepcache:interval=3,branch=0"),
 *                                             GenerationInfo.calls(25))) {
 *     Denoiser d = Guidance.classifierFree(new CachedDiffusionModel(cache), uncond, cond, 7.5, 0);  // unet4j-pipeline
 *     Latents x = DdimSampler.fromConfig(cfg).sample(d, SamplingRequest.of(25, shape, NoiseSource.seeded(1)));
 *     GenerationReport r = cache.report();
 * }
 * }</pre>
 *
 * Policies (package {@code dev.unet4j.caching.policy}): {@code deepcache}, {@code faster} (encoder propagation, with
 * {@code parallel} batched decoding and {@code noise=}/{@code noise-below=} prior-noise injection), {@code inherit},
 * {@code skiptune}, {@code scalelong}, {@code freeu}, {@code balanced}, {@code adaptive}, {@code none}.
 *
 * <p>A policy that edits the sampler's latents (prior-noise injection) acts through
 * {@link dev.unet4j.caching.CacheSession#latentHook}: the pipeline module's {@code Pipeline} with
 * {@code CachedRunModel} passes it to the sampler; when driving a sampler by hand as above, add
 * {@code .withLatentHook(cache.latentHook())} to the request.
 */
package dev.unet4j.caching;
