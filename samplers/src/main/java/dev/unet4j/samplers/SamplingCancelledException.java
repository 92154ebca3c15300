package dev.unet4j.samplers;

/** A sampling run stopped by its {@link StepCallback} (or by interrupting the sampling thread). */
public class SamplingCancelledException extends RuntimeException {
    private final int stepIndex;

    public SamplingCancelledException(int stepIndex, String reason) {
        super("sampling cancelled after step " + stepIndex + ": " + reason);
        this.stepIndex = stepIndex;
    }

    /** The last completed step. */
    public int stepIndex() {
        return stepIndex;
    }
}
