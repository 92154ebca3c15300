package dev.unet4j.caching.policy;

import dev.unet4j.caching.CachePolicy;
import dev.unet4j.caching.PolicyArgs;
import dev.unet4j.caching.PolicyRun;
import dev.unet4j.caching.RunContext;
import dev.unet4j.caching.UNetStructure;

import java.util.List;
import java.util.Set;

/**
 * Skip-Tuning (Ma et al. 2024): every skip is scaled by a factor interpolated linearly over its resolution level,
 * {@code top} at the full-resolution skips (level 0) to {@code bottom} at the deepest level.
 */
public record SkipTuning(double top, double bottom) implements CachePolicy {
    public static final String NAME = "skiptune";

    public static SkipTuning parse(String text) {
        PolicyArgs a = PolicyArgs.parse(NAME, text, List.of("top", "bottom"), Set.of(), Set.of());
        return new SkipTuning(a.number("top", 1.0), a.number("bottom", 1.0));
    }

    @Override
    public String spec() {
        return NAME + ":top=" + top + ",bottom=" + bottom;
    }

    /** The factor of every skip index. */
    public double[] factors(UNetStructure s) {
        double[] f = new double[s.skipCount()];
        int deepest = s.levels() - 1;
        for (int k = 0; k < f.length; k++) {
            int level = s.skipLevel(k);
            f[k] = deepest == 0 ? top : top + (bottom - top) * level / deepest;
        }
        return f;
    }

    @Override
    public PolicyRun start(RunContext ctx) {
        return new SkipScaling(factors(ctx.structure())) {
        };
    }
}
