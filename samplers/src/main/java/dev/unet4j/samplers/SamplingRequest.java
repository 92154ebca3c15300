package dev.unet4j.samplers;

import java.util.Arrays;
import java.util.Objects;

/**
 * One sampling run.
 *
 * @param steps     number of inference steps of the full schedule (img2img executes only the last part)
 * @param shape     latent shape, batch first
 * @param noise     initial and per-step noise
 * @param initImage img2img: the clean latents to start from (same shape), or null for text-to-image
 * @param strength  img2img strength in (0, 1]: the fraction of the schedule that is run (diffusers' rule)
 * @param callback  per-step progress / cancellation
 * @param latentHook edits the running latents at the start of every step, or null (see {@link LatentHook})
 */
public record SamplingRequest(int steps, int[] shape, NoiseSource noise, Latents initImage, double strength,
                              StepCallback callback, LatentHook latentHook) {
    public SamplingRequest {
        if (steps < 1) throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(noise, "noise");
        Objects.requireNonNull(callback, "callback");
        if (initImage != null) {
            if (!Arrays.equals(initImage.shape(), shape)) {
                throw new IllegalArgumentException("init image has shape " + Arrays.toString(initImage.shape())
                        + ", expected " + Arrays.toString(shape));
            }
            if (!(strength > 0 && strength <= 1)) throw new IllegalArgumentException("strength must be in (0, 1], got " + strength);
        }
        shape = shape.clone();
    }

    /** A request without a latent hook. */
    public SamplingRequest(int steps, int[] shape, NoiseSource noise, Latents initImage, double strength, StepCallback callback) {
        this(steps, shape, noise, initImage, strength, callback, null);
    }

    public static SamplingRequest of(int steps, int[] shape, NoiseSource noise) {
        return new SamplingRequest(steps, shape, noise, null, 1.0, StepCallback.NONE);
    }

    public SamplingRequest withCallback(StepCallback cb) {
        return new SamplingRequest(steps, shape, noise, initImage, strength, cb, latentHook);
    }

    public SamplingRequest withInitImage(Latents image, double strength) {
        return new SamplingRequest(steps, shape, noise, image, strength, callback, latentHook);
    }

    /** The same request with {@code hook} (null for none) editing the latents at each step start. */
    public SamplingRequest withLatentHook(LatentHook hook) {
        return new SamplingRequest(steps, shape, noise, initImage, strength, callback, hook);
    }

    /**
     * diffusers img2img {@code get_timesteps}: the index of the first executed step,
     * {@code steps - min(int(steps * strength), steps)}; 0 for text-to-image.
     */
    public int startStep() {
        if (initImage == null) return 0;
        int initSteps = Math.min((int) (steps * strength), steps);
        int start = Math.max(steps - initSteps, 0);
        if (start >= steps) {
            throw new IllegalArgumentException("strength " + strength + " with " + steps
                    + " steps leaves no step to run (diffusers would fail too)");
        }
        return start;
    }
}
