package dev.unet4j.samplers;

/** Called after every sampler step. Return false (or throw {@link SamplingCancelledException}) to stop the run. */
@FunctionalInterface
public interface StepCallback {
    StepCallback NONE = info -> true;

    boolean onStep(StepInfo info);
}
