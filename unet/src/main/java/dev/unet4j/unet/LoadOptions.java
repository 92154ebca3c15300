package dev.unet4j.unet;

import dev.unet4j.core.kernels.Kernels;

import java.util.function.Function;

/**
 * How to load a UNet.
 *
 * @param kernels      the compute backend (required)
 * @param variant      checkpoint variant ({@code "fp16"} reads {@code diffusion_pytorch_model.fp16.safetensors}),
 *                     or null for the default file
 * @param layerFactory makes the prepared conv/linear layers from the kernels (quantization plugs in here); null =
 *                     plain float32 layers on the kernels ({@link LayerFactory#of})
 */
public record LoadOptions(Kernels kernels, String variant, Function<Kernels, LayerFactory> layerFactory) {

    public LoadOptions {
        if (kernels == null) throw new IllegalArgumentException("LoadOptions: kernels are required");
    }

    public static LoadOptions of(Kernels kernels) {
        return new LoadOptions(kernels, null, null);
    }

    public LoadOptions withVariant(String v) {
        return new LoadOptions(kernels, v, layerFactory);
    }

    public LoadOptions withLayerFactory(Function<Kernels, LayerFactory> f) {
        return new LoadOptions(kernels, variant, f);
    }

    /** A ready factory (it must build layers for {@link #kernels}). */
    public LoadOptions withLayerFactory(LayerFactory f) {
        return new LoadOptions(kernels, variant, k -> f);
    }

    /** The factory to build layers with. */
    public LayerFactory factory() {
        return layerFactory == null ? LayerFactory.of(kernels) : layerFactory.apply(kernels);
    }
}
