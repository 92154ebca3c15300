package dev.unet4j.zoo.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Pass;

/** The element-wise nonlinearities of the zoo models (torch module names), applied through the kernels. */
public record Act(Kind kind, float slope) {
    public enum Kind { IDENTITY, RELU, LEAKY_RELU, RELU6, SIGMOID }

    public static final Act IDENTITY = new Act(Kind.IDENTITY, 0f);
    public static final Act RELU = new Act(Kind.RELU, 0f);
    public static final Act RELU6 = new Act(Kind.RELU6, 0f);
    public static final Act SIGMOID = new Act(Kind.SIGMOID, 0f);

    public static Act leakyRelu(double negativeSlope) {
        return new Act(Kind.LEAKY_RELU, (float) negativeSlope);
    }

    /** {@code act(x)}: a new tensor ({@code x} borrowed), also for the identity. */
    public Tensor apply(Pass p, Tensor x) {
        return switch (kind) {
            case IDENTITY -> p.k.copy(p.ws, x);
            case RELU -> p.k.leakyRelu(p.ws, x, 0f);
            case LEAKY_RELU -> p.k.leakyRelu(p.ws, x, slope);
            case RELU6 -> p.k.clamp(p.ws, x, 0f, 6f);
            case SIGMOID -> p.k.sigmoid(p.ws, x);
        };
    }

    /** {@code act(x)}, closing {@code x} (an intermediate the caller owns). */
    public Tensor applyAndClose(Pass p, Tensor x) {
        try {
            return apply(p, x);
        } finally {
            p.release(x);
        }
    }
}
