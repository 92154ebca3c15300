package dev.unet4j.vae;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.random.TorchGenerator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.UnsupportedConfigException;

import java.io.IOException;
import java.nio.file.Path;

/**
 * What a diffusion pipeline needs from its VAE, whichever class the folder holds ({@link AutoencoderKL} or the tiny
 * {@link AutoencoderTiny}): latents to image, image to latents, and the latent scale. Implementations are immutable
 * and thread-safe; results are standalone tensors the caller closes.
 */
public sealed interface Autoencoder extends AutoCloseable permits AutoencoderKL, AutoencoderTiny {

    /** Loads {@code vae/} (or a pipeline folder's {@code vae/}) as the class its {@code _class_name} names. */
    static Autoencoder load(Path vaeDir, Kernels kernels) throws IOException {
        return load(vaeDir, LoadOptions.of(kernels));
    }

    static Autoencoder load(Path vaeDir, LoadOptions options) throws IOException {
        String cls = VaeFiles.className(vaeDir, options);
        if (cls == null || cls.equals("AutoencoderKL")) return AutoencoderKL.load(vaeDir, options);
        if (cls.equals("AutoencoderTiny")) return AutoencoderTiny.load(vaeDir, options);
        throw new UnsupportedConfigException(VaeFiles.locate(vaeDir, options).configJson() + ": _class_name \"" + cls
                + "\" is not a supported VAE (AutoencoderKL, AutoencoderTiny)");
    }

    /** The image {@code [B, out, f*h, f*w]} (about [-1, 1]) from latents {@code [B, L, h, w]} on the VAE's own scale. */
    Tensor decode(Tensor latents);

    /** {@link #decode} in tiles when the latents are large (diffusers' {@code enable_tiling()}). */
    Tensor decodeTiled(Tensor latents);

    /**
     * diffusers' {@code retrieve_latents(vae.encode(image), generator, sample_mode="sample")}: a posterior sample for
     * {@link AutoencoderKL} (advances {@code generator}), the encoder output for {@link AutoencoderTiny} (which draws
     * nothing). Image {@code [B, in, H, W]} in [-1, 1], H and W multiples of {@link #scaleFactor}.
     */
    Tensor encodeLatents(Tensor image, TorchGenerator generator);

    /** The folder's config, whichever VAE class it describes. */
    AutoencoderConfig config();

    /** Pixels per latent along each axis. */
    default int scaleFactor() {
        return config().scaleFactor();
    }

    default int latentChannels() {
        return config().latentChannels();
    }

    /** {@code config.scaling_factor}. */
    default double scalingFactor() {
        return config().scalingFactor();
    }

    /** {@code config.shift_factor}, 0 when none. */
    default double shiftFactor() {
        return config().shift();
    }

    /** {@code (z - shift_factor) * scaling_factor}: VAE latents to the diffusion model's scale, as a new tensor. */
    default Tensor scaleLatents(Tensor z) {
        float shift = (float) shiftFactor(), scale = (float) scalingFactor();
        float[] v = z.toFloatArray();
        for (int i = 0; i < v.length; i++) v[i] = (v[i] - shift) * scale;
        return Tensor.of(v, z.shape());
    }

    /** {@code z / scaling_factor + shift_factor}: the diffusion model's latents back to the VAE's scale, before decoding. */
    default Tensor unscaleLatents(Tensor z) {
        float shift = (float) shiftFactor(), scale = (float) scalingFactor();
        float[] v = z.toFloatArray();
        for (int i = 0; i < v.length; i++) v[i] = v[i] / scale + shift;
        return Tensor.of(v, z.shape());
    }

    @Override
    void close();
}
