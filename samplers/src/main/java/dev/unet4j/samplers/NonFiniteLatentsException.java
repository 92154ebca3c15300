package dev.unet4j.samplers;

/**
 * A run's latents became NaN or infinite: every later step and the decoded image would be too (an all-black PNG),
 * so the run stops at the first step where it happens. Typical causes: an extreme guidance scale, a broken noise
 * schedule or model, non-finite inputs. Install the unet module's guard interceptors to find the first node.
 */
public class NonFiniteLatentsException extends RuntimeException {
    private final int stepIndex;

    public NonFiniteLatentsException(int stepIndex, int totalSteps, long count, long total, double timestep) {
        super("the latents became NaN or infinite at step " + stepIndex + " of " + totalSteps + " (timestep "
                + timestep + "): " + count + " of " + total + " values; the result would be garbage, so the run stopped");
        this.stepIndex = stepIndex;
    }

    /** The first step (0-based) whose latents were not finite. */
    public int stepIndex() {
        return stepIndex;
    }
}
