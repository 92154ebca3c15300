package dev.unet4j.caching;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.samplers.LatentHook;
import dev.unet4j.unet.CallTrace;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.SkipEvent;
import dev.unet4j.unet.UNetInputs;

/**
 * One policy's state for one generation, driven by the call index (never by the timestep value: Heun repeats
 * timesteps). Calls arrive in order 0, 1, 2, ...; node callbacks belong to the call last begun.
 */
public interface PolicyRun extends AutoCloseable {

    /**
     * Whether guided call {@code callIndex} (UNet timestep {@code timestep}) should run only its conditional half,
     * this run then supplying the unconditional prediction ({@link #unconditional}). Asked before the call begins,
     * only for calls that come through the guidance seam (the pipeline module's {@code CachedDiffusionModel.forwardGuided}, through {@link CacheSession#conditionalOnly}).
     */
    default boolean dropsUnconditional(int callIndex, double timestep) {
        return false;
    }

    /** The halves call {@code callIndex} runs; told just before {@link #beginCall}. */
    default void halves(int callIndex, GuidanceHalves halves) {
    }

    /**
     * On a {@link GuidanceHalves#COND_ONLY} call: the unconditional prediction for the conditional output
     * {@code cond} ({@code [B, C, H, W]}, read-only), a new tensor of its shape from {@code ws}; or null if this run
     * did not drop the call's unconditional half.
     */
    default Tensor unconditional(int callIndex, Tensor cond, Kernels k, Workspace ws) {
        return null;
    }

    /** A {@link GuidanceHalves#BOTH} call's output {@code [uncond; cond]} (read-only: copy what you keep). */
    default void guidedOutput(int callIndex, Tensor out) {
    }

    /** Call {@code callIndex} is about to run with {@code in}. */
    default void beginCall(int callIndex, UNetInputs in) {
    }

    /**
     * A node of the current call: {@code call.proceed()} runs it (through the policies composed after this one). The
     * ownership rules of {@link dev.unet4j.unet.NodeInterceptor} apply.
     */
    default Tensor intercept(NodeCall call, int callIndex) {
        return call.proceed();
    }

    /**
     * A skip tensor about to be concatenated by an up block ({@code pop.node()}, full-call skip index
     * {@code skipIndex}): return {@code skip} or a new tensor from {@code ws} (the caller frees {@code skip}).
     */
    default Tensor transformSkip(SkipEvent pop, int skipIndex, Tensor skip, Kernels k, Workspace ws) {
        return skip;
    }

    /** A graph-owned copy of {@code skip.skipIndex} kept from an earlier call, for calls that did not push it; or null. */
    default Tensor cachedSkip(int skipIndex, int callIndex, Kernels k, Workspace ws) {
        return null;
    }

    /**
     * Whether this run returns node {@code path}'s output from its cache on the current call without running it
     * (known from {@link #beginCall} on). Other policies then skip work that only feeds that node (a skip's FreeU
     * filter, a backbone scaling): the node's served output does not depend on it.
     */
    default boolean serves(String path) {
        return false;
    }

    /**
     * Whether this run keeps node {@code path}'s output of the current call for later calls, to serve it unchanged
     * ({@link #serves}) on cheap calls (known from {@link #beginCall} on): what a feature forecaster
     * ({@link dev.unet4j.caching.policy.Forecast}) builds its history from.
     */
    default boolean keeps(String path) {
        return false;
    }

    /** The current call is done; {@code trace} is its last UNet pass (null if none ran). */
    default void endCall(int callIndex, CallTrace trace) {
    }

    /** Call-level policies only: run call {@code callIndex} through {@code runner} and return its output. */
    default Tensor runCall(int callIndex, UNetInputs in, CallRunner runner) {
        return runner.forward(in);
    }

    /** A short label of what this policy did on the call just ended, or "" (e.g. {@code full}, {@code reuse b=0}). */
    default String label(int callIndex) {
        return "";
    }

    /**
     * What this policy does to the sampler's latents at each step start ({@link CacheSession#latentHook}), or null
     * (most policies only act on UNet calls). Fixed for the run's life.
     */
    default LatentHook latentHook() {
        return null;
    }

    /** Bytes this run holds now. */
    long bytesHeld();

    @Override
    void close();
}
