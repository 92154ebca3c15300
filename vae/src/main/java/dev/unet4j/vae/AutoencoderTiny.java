package dev.unet4j.vae;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.random.TorchGenerator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.WeightMismatchException;
import dev.unet4j.unet.nn.VarBuilder;
import dev.unet4j.unet.nn.Weights;

import java.io.IOException;
import java.nio.file.Path;

/**
 * diffusers {@code AutoencoderTiny} (TAESD): a plain conv + ReLU encoder and decoder, no posterior ({@link #encode}
 * gives the latents themselves). Keys as diffusers saves them ({@code encoder.layers.1.conv.0.weight}, ...).
 * Immutable and thread-safe; results are standalone tensors the caller closes.
 */
public final class AutoencoderTiny implements Autoencoder {
    private final AutoencoderTinyConfig config;
    private final Kernels kernels;
    private final EncoderTiny encoder;
    private final DecoderTiny decoder;
    private final Weights.Resources resources;

    private AutoencoderTiny(AutoencoderTinyConfig c, Weights w, Kernels kernels) {
        this.config = c;
        this.kernels = kernels;
        VarBuilder vb = w.root();
        encoder = new EncoderTiny(vb.pp("encoder"), c);
        decoder = new DecoderTiny(vb.pp("decoder"), c);
        resources = w.finish();
    }

    public static AutoencoderTiny load(Path vaeDir, Kernels kernels) throws IOException {
        return load(vaeDir, LoadOptions.of(kernels));
    }

    public static AutoencoderTiny load(Path vaeDir, LoadOptions options) throws IOException {
        return VaeFiles.load(vaeDir, options, "AutoencoderTiny",
                (config, source, name) -> build(AutoencoderTinyConfig.from(config), source, name, options));
    }

    /** Builds from any parameter source; one {@link WeightMismatchException} lists every problem. */
    public static AutoencoderTiny build(AutoencoderTinyConfig config, ParameterSource source, String sourceName, LoadOptions options) {
        return new Weights(source, sourceName, options.factory()).build(w -> new AutoencoderTiny(config, w, options.kernels()));
    }

    @Override
    public AutoencoderTinyConfig config() {
        return config;
    }

    public long parameterCount() {
        return resources.parameters();
    }

    /** {@code vae.decode(z).sample}: the image {@code [B, out, f*h, f*w]}, about [-1, 1]. */
    @Override
    public Tensor decode(Tensor latents) {
        VaeInputs.checkLatents("AutoencoderTiny", latents, config.latentChannels());
        try (VaeCall call = new VaeCall(kernels)) {
            return VaeInputs.checkedResult("AutoencoderTiny decode", VaeCall.export(decoder.forward(call.pass, latents)));
        }
    }

    /** Decoded untiled: AutoencoderTiny's own tiling (mask-blended, not AutoencoderKL's) is not implemented. */
    @Override
    public Tensor decodeTiled(Tensor latents) {
        return decode(latents);
    }

    /** {@code vae.encode(x).latents} for an image {@code [B, in, H, W]} in [-1, 1]. */
    public Tensor encode(Tensor image) {
        VaeInputs.checkImage("AutoencoderTiny", image, config.inChannels(), scaleFactor());
        try (VaeCall call = new VaeCall(kernels)) {
            return VaeInputs.checkedResult("AutoencoderTiny encode", VaeCall.export(encoder.forward(call.pass, image)));
        }
    }

    /** The encoder's latents; {@code generator} is not used (diffusers' retrieve_latents reads {@code .latents}). */
    @Override
    public Tensor encodeLatents(Tensor image, TorchGenerator generator) {
        return encode(image);
    }


    @Override
    public void close() {
        resources.close();
    }
}
