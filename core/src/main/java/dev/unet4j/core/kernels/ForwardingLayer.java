package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Tensor;

import java.util.Objects;

/**
 * A layer that wraps another: calls and {@link #close} go to the wrapped layer unless a subclass overrides
 * {@link #forward}. A concrete wrapper adds its kind's shape with a mixin, {@link OfConv2d} or {@link OfLinear}
 * ({@code class X extends MyWrapper<Conv2d> implements ForwardingLayer.OfConv2d}); a wrapper that only runs code
 * around the call is {@link #conv2d(Conv2d, Call)} or {@link #linear(Linear, Call)}.
 *
 * @param <L> the wrapped layer's type
 */
public abstract class ForwardingLayer<L extends Layer> implements Layer {
    /** What a wrapper runs in place of the wrapped layer's {@link Layer#forward}. */
    @FunctionalInterface
    public interface Call {
        Tensor forward(Workspace ws, Tensor x, Tensor residual, float outputScale);
    }

    /** A convolution whose spec is the wrapped convolution's. */
    public interface OfConv2d extends Conv2d {
        Conv2d inner();

        @Override
        default Conv2dSpec spec() {
            return inner().spec();
        }
    }

    /** A linear layer whose features are the wrapped layer's. */
    public interface OfLinear extends Linear {
        Linear inner();

        @Override
        default int inFeatures() {
            return inner().inFeatures();
        }

        @Override
        default int outFeatures() {
            return inner().outFeatures();
        }
    }

    private final L inner;

    protected ForwardingLayer(L inner) {
        this.inner = Objects.requireNonNull(inner, "wrapped layer");
    }

    /** The wrapped layer. */
    public L inner() {
        return inner;
    }

    @Override
    public Tensor forward(Workspace ws, Tensor x, Tensor residual, float outputScale) {
        return inner.forward(ws, x, residual, outputScale);
    }

    /** Closes the wrapped layer. */
    @Override
    public void close() {
        inner.close();
    }

    /** {@code inner} with its calls running {@code call} instead (which may call {@code inner}); closing closes {@code inner}. */
    public static Conv2d conv2d(Conv2d inner, Call call) {
        return new CallingConv2d(inner, call);
    }

    /** {@code inner} with its calls running {@code call} instead (which may call {@code inner}); closing closes {@code inner}. */
    public static Linear linear(Linear inner, Call call) {
        return new CallingLinear(inner, call);
    }

    private static class Calling<L extends Layer> extends ForwardingLayer<L> {
        private final Call call;

        Calling(L inner, Call call) {
            super(inner);
            this.call = Objects.requireNonNull(call, "call");
        }

        @Override
        public Tensor forward(Workspace ws, Tensor x, Tensor residual, float outputScale) {
            return call.forward(ws, x, residual, outputScale);
        }
    }

    private static final class CallingConv2d extends Calling<Conv2d> implements OfConv2d {
        CallingConv2d(Conv2d inner, Call call) {
            super(inner, call);
        }
    }

    private static final class CallingLinear extends Calling<Linear> implements OfLinear {
        CallingLinear(Linear inner, Call call) {
            super(inner, call);
        }
    }
}
