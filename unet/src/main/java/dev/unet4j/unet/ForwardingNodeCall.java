package dev.unet4j.unet;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;

/**
 * A {@link NodeCall} that forwards everything to {@code base} except {@link #proceed()}: the shape of the call an
 * interceptor in a chain hands to the one inside it. Subclasses decide what proceeding means (run the next link,
 * or the node) and may override other methods (a cache session reports its own call index).
 */
public abstract class ForwardingNodeCall implements NodeCall {
    protected final NodeCall base;

    protected ForwardingNodeCall(NodeCall base) {
        this.base = base;
    }

    /**
     * {@code base} as the links after one that called {@link NodeCall#proceedWith} see it: its input is
     * {@code input} and proceeding runs the node on it ({@code base.proceedWith(input)}).
     */
    public static NodeCall withInput(NodeCall base, Tensor input) {
        return new ForwardingNodeCall(base) {
            @Override
            public Tensor input() {
                return input;
            }

            @Override
            public Tensor proceed() {
                return base.proceedWith(input);
            }

            @Override
            public Tensor proceedWith(Tensor other) {
                return base.proceedWith(other);
            }

            @Override
            public Tensor passThrough() {
                return input;
            }

            @Override
            public boolean exclusive(Tensor t) {
                return t != input && base.exclusive(t);
            }
        };
    }

    @Override
    public String path() {
        return base.path();
    }

    @Override
    public NodeLevel level() {
        return base.level();
    }

    @Override
    public NodeKind kind() {
        return base.kind();
    }

    @Override
    public int callIndex() {
        return base.callIndex();
    }

    @Override
    public Tensor input() {
        return base.input();
    }

    @Override
    public Tensor temb() {
        return base.temb();
    }

    @Override
    public Tensor encoderHiddenStates() {
        return base.encoderHiddenStates();
    }

    @Override
    public Tensor residual() {
        return base.residual();
    }

    @Override
    public void addMacs(long n) {
        base.addMacs(n);
    }

    @Override
    public Tensor passThrough() {
        return base.passThrough();
    }

    @Override
    public boolean exclusive(Tensor t) {
        return base.exclusive(t);
    }

    @Override
    public Workspace workspace() {
        return base.workspace();
    }

    @Override
    public Kernels kernels() {
        return base.kernels();
    }
}
