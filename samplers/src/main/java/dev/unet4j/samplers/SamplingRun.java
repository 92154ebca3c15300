package dev.unet4j.samplers;

import java.util.Arrays;

/**
 * The bookkeeping shared by every sampler's loop: numbers model evaluations, fetches step noise, reports progress
 * and honours cancellation. One per run.
 */
public final class SamplingRun {
    private final Denoiser model;
    private final SamplingRequest request;
    private final int totalSteps;
    private int calls;
    private Latents initial;

    public SamplingRun(Denoiser model, SamplingRequest request, int totalSteps) {
        this.model = model;
        this.request = request;
        this.totalSteps = totalSteps;
    }

    public SamplingRequest request() {
        return request;
    }

    /**
     * Step {@code stepIndex} starts from {@code x}, its first evaluation at {@code timestep} / {@code sigma}: returns
     * the latents to start it from, which are {@code x} itself unless the request's {@link LatentHook} edits them.
     * The first call of a run keeps a copy of {@code x} as the run's initial latents.
     */
    public Latents beginStep(int stepIndex, double timestep, double sigma, Latents x) {
        LatentHook hook = request.latentHook();
        if (hook == null) return x;
        if (initial == null) initial = x.copy();
        Latents out = hook.beforeStep(new StepStart(stepIndex, calls, timestep, sigma, initial), x);
        if (out == null) throw new IllegalStateException("the latent hook returned null at step " + stepIndex);
        x.requireSameShape(out, "the latents the hook returned at step " + stepIndex);
        return out;
    }

    /** Whether the request has a latent hook (samplers whose state is not a {@link Latents} convert only then). */
    public boolean hasLatentHook() {
        return request.latentHook() != null;
    }

    /** Evaluates the model once (the next call index) and checks the output's shape. */
    public Latents evaluate(Latents x, int stepIndex, double timestep, double sigma) {
        Latents out = model.predict(x, new ModelCall(stepIndex, calls++, timestep, sigma));
        if (out == null || !Arrays.equals(out.shape(), x.shape())) {
            throw new IllegalStateException("model output for call " + (calls - 1) + " has shape "
                    + (out == null ? "null" : Arrays.toString(out.shape())) + ", expected " + Arrays.toString(x.shape()));
        }
        return out;
    }

    public int lastCallIndex() {
        return calls - 1;
    }

    /** Noise for a stochastic step, shaped like the latents. */
    public Latents stepNoise(int stepIndex) {
        return request.noise().step(stepIndex, request.shape());
    }

    /**
     * Reports a finished step; throws {@link SamplingCancelledException} if the callback or an interrupt says stop,
     * {@link NonFiniteLatentsException} if the step made the latents NaN or infinite.
     */
    public void completed(int stepIndex, double timestep, double sigma, Latents latents, Latents predictedX0) {
        long bad = 0;
        for (float v : latents.data()) if (!Float.isFinite(v)) bad++;
        if (bad > 0) throw new NonFiniteLatentsException(stepIndex, totalSteps, bad, latents.data().length, timestep);
        boolean go = request.callback().onStep(new StepInfo(stepIndex, totalSteps, lastCallIndex(), timestep, sigma,
                latents, predictedX0));
        if (!go) throw new SamplingCancelledException(stepIndex, "the step callback returned false");
        if (Thread.currentThread().isInterrupted()) throw new SamplingCancelledException(stepIndex, "thread interrupted");
    }
}
