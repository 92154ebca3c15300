package dev.unet4j.caching;

import dev.unet4j.unet.UNetModel;

/** What a policy's per-generation state is started with. */
public record RunContext(UNetModel model, UNetStructure structure, GenerationInfo info, CacheBudget budget) {
    /** A new store charged to this generation's budget (the run closes it). */
    public FeatureStore newStore() {
        return new FeatureStore(budget);
    }
}
