package dev.unet4j.zoo.nn;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.unet.LayerFactory;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.nn.VarBuilder;
import dev.unet4j.unet.nn.Weights;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * One zoo model build: the {@link Weights} that hand out checkpoint tensors by name and record every problem, the
 * kernels, and the layers prepared outside the layer factory (N-d and transposed convolutions), which the model owns.
 */
public final class Build {
    public final Weights weights;
    public final Kernels kernels;
    private final List<AutoCloseable> owned = new ArrayList<>();

    public Build(Weights weights, Kernels kernels) {
        this.weights = weights;
        this.kernels = kernels;
    }

    public static Build of(ParameterSource source, String sourceName, Kernels kernels, LayerFactory factory) {
        return new Build(new Weights(source, sourceName, factory), kernels);
    }

    /**
     * Builds a model from {@code source} with {@code options}' kernels and layer factory: {@code body} reads the
     * weights and constructs the model (whose constructor finishes the build); if anything throws, everything built so
     * far is freed before the exception goes on.
     */
    public static <T> T building(ParameterSource source, String sourceName, LoadOptions options, Function<Build, T> body) {
        Build b = of(source, sourceName, options.kernels(), options.factory());
        try {
            return body.apply(b);
        } catch (RuntimeException e) {
            b.abandon();
            throw e;
        }
    }

    public VarBuilder root() {
        return weights.root();
    }

    /** {@code resource} is freed with the model (or when the build fails). */
    public <T extends AutoCloseable> T own(T resource) {
        owned.add(resource);
        return resource;
    }

    /** Resources owned outside {@link Weights}, closed with the model. */
    public List<AutoCloseable> owned() {
        return List.copyOf(owned);
    }

    /** Frees everything built so far (the build failed). */
    public void abandon() {
        weights.abandon();
        closeAll(owned);
    }

    public static void closeAll(List<AutoCloseable> resources) {
        for (AutoCloseable c : resources) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing " + c, e);
            }
        }
    }
}
