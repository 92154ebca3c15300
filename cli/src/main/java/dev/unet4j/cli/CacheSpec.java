package dev.unet4j.cli;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.caching.CachePolicy;
import dev.unet4j.caching.CacheSession;
import dev.unet4j.caching.GenerationInfo;
import dev.unet4j.caching.policy.AutoCalibration;
import dev.unet4j.pipeline.denoising.CachedRunModel;
import dev.unet4j.pipeline.denoising.RunModel;
import dev.unet4j.unet.UNetSession;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A {@code --cache} value: a feature-caching policy in the caching module's text form ({@code deepcache:interval=3},
 * {@code freeu:b1=1.5,b2=1.6,s1=0.9,s2=0.2+deepcache:interval=2}, ..., or {@code none}). Unknown names and bad
 * arguments are refused by the caching module's parser with the valid names or keys (exit 1).
 *
 * @param text   the spec as given
 * @param policy the parsed policy
 */
record CacheSpec(String text, CachePolicy policy) {

    static CacheSpec parse(String spec) {
        try {
            return new CacheSpec(spec, CachePolicies.parse(spec.strip()));
        } catch (IllegalArgumentException e) {
            throw new UserException("bad --cache '" + spec + "': " + e.getMessage(), e);
        }
    }

    /**
     * This spec with every {@code auto:} part keeping its calibration in {@code cache-calibration.json} beside the
     * model ({@code model}: its folder, or the single-file checkpoint whose folder is meant), unless it names a file.
     */
    CacheSpec besideModel(Path model) {
        Path dir = Files.isRegularFile(model) ? model.toAbsolutePath().getParent() : model;
        return new CacheSpec(text, AutoCalibration.besideModel(policy, dir));
    }

    boolean isNone() {
        return policy == CachePolicies.NONE;
    }

    String label() {
        return "cache " + policy.spec();
    }

    /** Each pipeline run through a fresh cache session planned for the run's calls. */
    RunModel.Factory runModel() {
        return CachedRunModel.factory(policy);
    }

    /** A cache session over {@code session} for {@code calls} calls at the given timesteps. */
    CacheSession open(UNetSession session, double[] callTimesteps) {
        return CacheSession.open(session, policy, GenerationInfo.withTimesteps(callTimesteps));
    }
}
