package dev.unet4j.caching.policy;

import dev.unet4j.caching.PolicyRun;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.SkipEvent;

/**
 * Base of the zero-cost skip scalings: a factor per full-call skip index applied where an up block concatenates it.
 * A factor of exactly 1 leaves the tensor untouched (bit-exact full compute).
 */
abstract class SkipScaling implements PolicyRun {
    private final double[] factors;

    SkipScaling(double[] factors) {
        this.factors = factors;
    }

    @Override
    public Tensor transformSkip(SkipEvent pop, int skipIndex, Tensor skip, Kernels k, Workspace ws) {
        double f = factors[skipIndex];
        return f == 1.0 ? skip : k.scale(ws, skip, (float) f);
    }

    @Override
    public long bytesHeld() {
        return 0;
    }

    @Override
    public void close() {
    }
}
