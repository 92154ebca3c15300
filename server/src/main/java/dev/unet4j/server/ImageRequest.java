package dev.unet4j.server;

import dev.unet4j.pipeline.PromptSyntax;

/**
 * One image-generation request after the route has parsed it (field names as in the native API). Values are
 * range-checked by {@link RequestLimits} and then by the model's {@link ImageBackend#validate}.
 *
 * @param model          registry name of the model (never a path)
 * @param prompt         the prompt (a class-conditional backend maps it to a class label)
 * @param negativePrompt the negative prompt, "" for none
 * @param width          image width in pixels, 0 = the model's default
 * @param height         image height in pixels, 0 = the model's default
 * @param steps          sampler steps, 0 = the model's default
 * @param guidance       classifier-free guidance scale, NaN = the model's default
 * @param seed           seed of the first image (image i of the request uses seed + i), >= 0
 * @param sampler        unet4j sampler name (see {@link SamplerNames}), null = the model's scheduler
 * @param eta            DDIM eta, null = 0
 * @param batchSize      images per UNet batch
 * @param iterations     batches run one after the other (A1111 {@code n_iter})
 * @param cache          feature-cache policy in the caching module's text form, null = none
 * @param initImage      img2img source image as PNG bytes, or null for text-to-image
 * @param strength       img2img denoising strength in (0, 1]
 * @param promptSyntax   text-to-image pipelines: how prompts are encoded (long prompts, A1111 emphasis), null = not
 *                       given (diffusers' truncation)
 */
public record ImageRequest(String model, String prompt, String negativePrompt, int width, int height, int steps,
                           double guidance, long seed, String sampler, Double eta, int batchSize, int iterations,
                           String cache, byte[] initImage, double strength, PromptSyntax promptSyntax) {

    /** A request without a prompt syntax. */
    public ImageRequest(String model, String prompt, String negativePrompt, int width, int height, int steps,
                        double guidance, long seed, String sampler, Double eta, int batchSize, int iterations,
                        String cache, byte[] initImage, double strength) {
        this(model, prompt, negativePrompt, width, height, steps, guidance, seed, sampler, eta, batchSize, iterations, cache,
                initImage, strength, null);
    }

    /** Images the request produces. */
    public int imageCount() {
        return batchSize * iterations;
    }
}
