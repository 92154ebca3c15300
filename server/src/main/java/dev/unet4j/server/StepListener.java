package dev.unet4j.server;

import java.util.function.Supplier;

/** Progress of one request's generation, called on the worker thread after every sampler step. */
@FunctionalInterface
public interface StepListener {
    /**
     * @param done    steps finished so far over all of the request's batches
     * @param total   steps of the whole request
     * @param preview a PNG of the current prediction of the first image, computed only when called
     * @return false to cancel the generation (it stops after this step)
     */
    boolean onStep(int done, int total, Supplier<byte[]> preview);
}
