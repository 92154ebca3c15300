package dev.unet4j.pipeline;

import dev.unet4j.core.image.Image;
import dev.unet4j.core.random.TorchGenerator;
import dev.unet4j.pipeline.denoising.Generation;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.NoiseSource;
import dev.unet4j.samplers.Sampler;
import dev.unet4j.samplers.StepStart;
import dev.unet4j.samplers.ddim.DdimSampler;
import dev.unet4j.samplers.kdiffusion.SigmaSampler;
import dev.unet4j.samplers.pndm.PndmSampler;

import java.util.List;

/**
 * diffusers' StableDiffusionInpaintPipeline on top of a {@link Generation}: the image and mask preprocessed to one
 * size, {@code masked_image = image * (mask < 0.5)}, the generator drawn in diffusers' order (image latents when
 * needed, the initial noise, the masked image's latents), then
 * <ul>
 *   <li>a 9-channel inpainting UNet gets {@code cat([latents, mask, masked_image_latents], dim=1)} at every call;</li>
 *   <li>a 4-channel UNet is "legacy" inpainting: after every step the latents outside the mask are replaced by the
 *   image latents noised to the next timestep (clean after the last step).</li>
 * </ul>
 * Strength 1 starts from pure noise, below 1 from the noised image latents at the cut timestep (as img2img).
 */
final class Inpainting {
    final int height;
    final int width;
    private final Latents noise;
    private final Latents imageLatents;
    private final Latents mask;        // [k, 1, h, w] of 0/1 at latent size
    private final Latents maskedImageLatents;
    private final boolean nineChannels;
    private final double strength;
    private final Sampler sampler;
    private final List<TorchGenerator> generators;

    private Inpainting(int height, int width, Latents noise, Latents imageLatents, Latents mask, Latents maskedImageLatents,
                       boolean nineChannels, double strength, Sampler sampler, List<TorchGenerator> generators) {
        this.height = height;
        this.width = width;
        this.noise = noise;
        this.imageLatents = imageLatents;
        this.mask = mask;
        this.maskedImageLatents = maskedImageLatents;
        this.nineChannels = nineChannels;
        this.strength = strength;
        this.sampler = sampler;
        this.generators = generators;
    }

    /** The image-side preparation of one inpainting run ({@code k} images, the run's generators). */
    static Inpainting prepare(StableDiffusion sd, VaeImageProcessor images, Image image, Image maskImage, double strength,
                              int unetChannels, int k, Sampler sampler, List<TorchGenerator> generators) {
        if (unetChannels != 9 && unetChannels != 4) {
            throw new IllegalArgumentException("inpainting needs a UNet with 9 input channels (an inpainting model) or 4 "
                    + "(legacy mask blending), this one has " + unetChannels);
        }
        boolean nine = unetChannels == 9;
        Latents pixels = images.preprocess(image, 0, 0);            // [1, 3, H, W]
        int h = pixels.shape()[2], w = pixels.shape()[3];
        Latents maskPx = images.preprocessMask(maskImage, h, w);    // [1, 1, H, W] of 0/1
        float[] masked = pixels.data().clone();
        int plane = h * w;
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < plane; i++) if (!(maskPx.data()[i] < 0.5f)) masked[c * plane + i] = 0f;
        }
        boolean strengthMax = strength == 1.0;
        // diffusers encodes the batch-1 image with generator[0] when given a list, then repeats it
        List<TorchGenerator> first = List.of(generators.get(0));
        Latents imageLatents = !nine || !strengthMax ? sd.sampleLatents(pixels, first, k) : null;
        int f = images.vaeScaleFactor();
        int lh = h / f, lw = w / f;
        Latents noise = NoiseSource.generators(generators).initial(new int[] {k, 4, lh, lw});
        Latents maskedLatents = sd.sampleLatents(new Latents(masked, pixels.shape()), first, k);
        // F.interpolate(mask, size=(h/f, w/f)), mode nearest: source pixel floor(dst * f)
        float[] m = new float[k * lh * lw];
        for (int b = 0; b < k; b++) {
            for (int y = 0; y < lh; y++) {
                for (int x = 0; x < lw; x++) m[(b * lh + y) * lw + x] = maskPx.data()[(y * f) * w + x * f];
            }
        }
        return new Inpainting(h, w, noise, imageLatents, new Latents(m, new int[] {k, 1, lh, lw}), maskedLatents, nine,
                strength, sampler, generators);
    }

    /** The generation with the start latents, the extra UNet channels or the blending hook. */
    Generation apply(Generation g) {
        Generation out = g;
        if (strength < 1) out = out.initLatents(imageLatents, strength);
        if (nineChannels) {
            out = out.extraChannels(concatChannels(mask, maskedImageLatents));
        } else {
            out = out.latentHook((step, x) -> step.stepIndex() == 0 ? x : blend(x, addNoise(imageLatents, noise, step)));
        }
        return out;
    }

    /** The run's noise: the pre-drawn initial noise, then the generators' later draws. */
    NoiseSource noiseSource() {
        NoiseSource later = NoiseSource.generators(generators);
        return new NoiseSource() {
            @Override
            public Latents initial(int[] shape) {
                noise.requireSameShape(new Latents(new float[Latents.numel(shape)], shape), "initial noise");
                return noise.copy();
            }

            @Override
            public Latents step(int stepIndex, int[] shape) {
                return later.step(stepIndex, shape);
            }
        };
    }

    /** Legacy inpainting's last blend with the clean image latents; 9-channel runs are returned as they are. */
    Latents finish(Latents latents) {
        return nineChannels ? latents : blend(latents, imageLatents);
    }

    /** {@code (1 - mask) * proper + mask * latents}, float32. */
    private Latents blend(Latents latents, Latents proper) {
        float[] x = latents.data(), p = proper.data(), m = mask.data();
        int per = latents.itemSize() / latents.shape()[1];
        int c = latents.shape()[1];
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            int b = i / (c * per), pix = i % per;
            float mv = m[b * per + pix];
            out[i] = (1 - mv) * p[i] + mv * x[i];
        }
        return latents.withData(out);
    }

    /** The scheduler's add_noise at the step that starts (its timestep, or its sigma for the sigma samplers). */
    private Latents addNoise(Latents x0, Latents eps, StepStart step) {
        if (sampler instanceof SigmaSampler s) return s.addNoise(x0, eps, (float) step.sigma());
        if (sampler instanceof DdimSampler d) return d.addNoise(x0, eps, (long) step.timestep());
        if (sampler instanceof PndmSampler p) return p.addNoise(x0, eps, (long) step.timestep());
        throw new IllegalArgumentException("legacy (4-channel) inpainting is not supported with the " + sampler.name()
                + " sampler; use ddim, pndm, lms, euler or dpmpp-2m");
    }

    private static Latents concatChannels(Latents a, Latents b) {
        int k = a.batch(), ca = a.shape()[1], cb = b.shape()[1], plane = a.shape()[2] * a.shape()[3];
        float[] out = new float[k * (ca + cb) * plane];
        for (int i = 0; i < k; i++) {
            System.arraycopy(a.data(), i * ca * plane, out, i * (ca + cb) * plane, ca * plane);
            System.arraycopy(b.data(), i * cb * plane, out, (i * (ca + cb) + ca) * plane, cb * plane);
        }
        return new Latents(out, new int[] {k, ca + cb, a.shape()[2], a.shape()[3]});
    }
}
