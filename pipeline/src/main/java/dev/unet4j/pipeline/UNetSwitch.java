package dev.unet4j.pipeline;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A-SDM's multi-UNet switching: a second UNet of the same latent space (e.g. a BK-SDM-style compressed UNet with
 * fewer blocks or no mid block) takes over part of the denoising steps. The first {@code round(at * n)} of the
 * {@code n} steps a run executes go to the first model, the rest to the other: the main UNet first by default,
 * the second one first with {@link Order#SMALL_FIRST}.
 *
 * @param model a UNet folder ({@code config.json} + weights) or a pipeline folder (its {@code unet/} is used and its
 *              scheduler's prediction type must match)
 * @param at    the fraction of the executed steps run by the first model, in [0, 1]
 * @param order which model runs first
 */
public record UNetSwitch(Path model, double at, Order order) {
    /** Which UNet runs the first steps. */
    public enum Order {
        /** The pipeline's own UNet first, then the switch model. */
        MAIN_FIRST,
        /** The switch model first, then the pipeline's own UNet. */
        SMALL_FIRST
    }

    public UNetSwitch {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(order, "order");
        if (!(at >= 0 && at <= 1)) throw new IllegalArgumentException("the switch point must be a fraction of the steps in [0, 1], got " + at);
    }

    /** Steps run by the first model when a run executes {@code steps} steps. */
    public int firstSteps(int steps) {
        return (int) Math.round(at * steps);
    }

    /** Whether step {@code stepIndex} (0-based among the executed {@code steps}) runs the pipeline's own UNet. */
    public boolean mainRuns(int stepIndex, int steps) {
        boolean first = stepIndex < firstSteps(steps);
        return first == (order == Order.MAIN_FIRST);
    }
}
