package dev.unet4j.caching;

import java.util.function.Predicate;

import dev.unet4j.unet.UNetModel;

/**
 * What a policy's per-generation state is started with. {@code served} tells, during a call, whether some policy
 * of the generation serves a node from its cache on that call ({@link PolicyRun#serves}); {@code kept} whether some
 * policy keeps the node's output of that call for later calls ({@link PolicyRun#keeps}).
 */
public record RunContext(UNetModel model, UNetStructure structure, GenerationInfo info, CacheBudget budget, Predicate<String> served,
                         Predicate<String> kept) {
    /** A new store charged to this generation's budget (the run closes it). */
    public FeatureStore newStore() {
        return new FeatureStore(budget);
    }
}
