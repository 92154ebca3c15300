package dev.unet4j.pipeline;

import dev.unet4j.core.image.Image;

import java.util.Objects;

/**
 * What {@link StableDiffusion#generate} makes: an immutable request built fluently from {@link #of(String)}, with
 * diffusers' StableDiffusionPipeline defaults.
 *
 * <pre>{@code
 * TextToImage.of("a handwritten seven").negativePrompt("blurry").size(512, 512).steps(25).guidance(7.5).seed(42)
 * }</pre>
 *
 * @param prompt          the prompt
 * @param negativePrompt  the negative prompt; null = the empty string, as diffusers
 * @param height          image height in pixels, a multiple of 8; 0 = the UNet's sample_size x the VAE scale factor
 *                        (img2img: the init image's height rounded down to a multiple of the VAE scale factor)
 * @param width           image width, as height
 * @param steps           inference steps (default 50)
 * @param guidanceScale   classifier-free guidance scale (default 7.5); {@code <= 1} skips the unconditional pass
 * @param guidanceRescale diffusers' guidance_rescale phi in [0, 1] (default 0)
 * @param clipSkip        layers skipped at the end of the text encoder (0 = its final output, 1 = the penultimate
 *                        layer's output through the final layer norm, as diffusers' clip_skip)
 * @param seed            seed of the one torch CPU generator of the run ({@code torch.Generator().manual_seed(seed)})
 * @param numImages       images per prompt (one batch, noise drawn as one tensor from the generator)
 * @param scheduler       sampler name overriding the pipeline's scheduler config (see Samplers.NAMES), or null
 * @param initImage       img2img: the image to start from, or null for text-to-image
 * @param strength        img2img strength in (0, 1] (default 0.8): the part of the schedule that runs
 * @param progress        called after every step; may cancel and ask for previews
 * @param seeds           one generator per image (diffusers' list of generators; image i equals a one-image run
 *                        with seed i), or null for the one generator of {@code seed}; sets the number of images
 * @param mask            inpainting (StableDiffusionInpaintPipeline): white = repaint, black = keep, with
 *                        {@code initImage} (default strength 1 then); null otherwise
 * @param promptSyntax    how prompts are tokenized and encoded: diffusers' truncation (default), long prompts in
 *                        75-token windows, or A1111's emphasis syntax (see {@link PromptSyntax})
 * @param aestheticScore  SDXL img2img/inpaint pipelines with {@code requires_aesthetics_score}: diffusers'
 *                        {@code aesthetic_score} in the prompt's {@code add_time_ids} (default 6.0); unused otherwise
 * @param negativeAestheticScore the negative prompt's, {@code negative_aesthetic_score} (default 2.5)
 */
public record TextToImage(String prompt, String negativePrompt, int height, int width, int steps, double guidanceScale,
                          double guidanceRescale, int clipSkip, long seed, int numImages, String scheduler,
                          Image initImage, double strength, Progress progress, long[] seeds, Image mask,
                          PromptSyntax promptSyntax, double aestheticScore, double negativeAestheticScore) {

    /** Per-step progress of a generation. */
    @FunctionalInterface
    public interface Progress {
        /** Called after step {@code step.index()}; return false to cancel the run. */
        boolean onStep(StepProgress step);

        Progress NONE = s -> true;
    }

    public TextToImage {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(progress, "progress");
        Objects.requireNonNull(promptSyntax, "promptSyntax");
        if (!Double.isFinite(aestheticScore) || !Double.isFinite(negativeAestheticScore)) {
            throw new IllegalArgumentException("aesthetic scores must be finite, got " + aestheticScore + " and " + negativeAestheticScore);
        }
        if (height < 0 || width < 0) throw new IllegalArgumentException("height and width must be >= 0, got " + height + "x" + width);
        if (height % 8 != 0 || width % 8 != 0) {
            throw new IllegalArgumentException("height and width have to be divisible by 8, got " + height + "x" + width);
        }
        if (steps < 1) throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        if (!Double.isFinite(guidanceScale) || guidanceScale < 0) throw new IllegalArgumentException("guidance scale must be a finite number >= 0, got " + guidanceScale);
        if (!(guidanceRescale >= 0 && guidanceRescale <= 1)) throw new IllegalArgumentException("guidance_rescale must be in [0, 1], got " + guidanceRescale);
        if (clipSkip < 0) throw new IllegalArgumentException("clip_skip must be >= 0, got " + clipSkip);
        if (numImages < 1) throw new IllegalArgumentException("numImages must be >= 1, got " + numImages);
        if (!(strength > 0 && strength <= 1)) throw new IllegalArgumentException("strength must be in (0, 1], got " + strength);
        if (mask != null && initImage == null) throw new IllegalArgumentException("an inpainting mask needs the image to inpaint");
        if (seeds != null) {
            if (seeds.length == 0) throw new IllegalArgumentException("seeds: need at least one");
            seeds = seeds.clone();
            numImages = seeds.length;
        }
    }

    /** The record without per-image seeds. */
    public TextToImage(String prompt, String negativePrompt, int height, int width, int steps, double guidanceScale,
                       double guidanceRescale, int clipSkip, long seed, int numImages, String scheduler, Image initImage,
                       double strength, Progress progress) {
        this(prompt, negativePrompt, height, width, steps, guidanceScale, guidanceRescale, clipSkip, seed, numImages,
                scheduler, initImage, strength, progress, null, null, PromptSyntax.TRUNCATE, 6.0, 2.5);
    }

    @Override
    public long[] seeds() {
        return seeds == null ? null : seeds.clone();
    }

    /**
     * One torch generator per image, as diffusers with {@code generator=[torch.Generator().manual_seed(s) for s in
     * seeds]}: image i is what a one-image run with seed {@code seeds[i]} gives. Sets the number of images.
     */
    public TextToImage seeds(long... s) {
        return new TextToImage(prompt, negativePrompt, height, width, steps, guidanceScale, guidanceRescale, clipSkip, seed,
                s.length, scheduler, initImage, strength, progress, s, mask, promptSyntax, aestheticScore, negativeAestheticScore);
    }

    /** {@code prompt} with diffusers' defaults: 50 steps, guidance 7.5, seed 0, one image, the model's size. */
    public static TextToImage of(String prompt) {
        return new TextToImage(prompt, null, 0, 0, 50, 7.5, 0.0, 0, 0, 1, null, null, 0.8, Progress.NONE, null, null, PromptSyntax.TRUNCATE, 6.0, 2.5);
    }

    public TextToImage negativePrompt(String p) {
        return new TextToImage(prompt, p, height, width, steps, guidanceScale, guidanceRescale, clipSkip, seed, numImages, scheduler, initImage, strength, progress, seeds, mask, promptSyntax, aestheticScore, negativeAestheticScore);
    }

    public TextToImage size(int h, int w) {
        return new TextToImage(prompt, negativePrompt, h, w, steps, guidanceScale, guidanceRescale, clipSkip, seed, numImages, scheduler, initImage, strength, progress, seeds, mask, promptSyntax, aestheticScore, negativeAestheticScore);
    }

    public TextToImage steps(int n) {
        return new TextToImage(prompt, negativePrompt, height, width, n, guidanceScale, guidanceRescale, clipSkip, seed, numImages, scheduler, initImage, strength, progress, seeds, mask, promptSyntax, aestheticScore, negativeAestheticScore);
    }

    public TextToImage guidance(double g) {
        return new TextToImage(prompt, negativePrompt, height, width, steps, g, guidanceRescale, clipSkip, seed, numImages, scheduler, initImage, strength, progress, seeds, mask, promptSyntax, aestheticScore, negativeAestheticScore);
    }

    public TextToImage guidanceRescale(double phi) {
        return new TextToImage(prompt, negativePrompt, height, width, steps, guidanceScale, phi, clipSkip, seed, numImages, scheduler, initImage, strength, progress, seeds, mask, promptSyntax, aestheticScore, negativeAestheticScore);
    }

    public TextToImage clipSkip(int n) {
        return new TextToImage(prompt, negativePrompt, height, width, steps, guidanceScale, guidanceRescale, n, seed, numImages, scheduler, initImage, strength, progress, seeds, mask, promptSyntax, aestheticScore, negativeAestheticScore);
    }

    public TextToImage seed(long s) {
        return new TextToImage(prompt, negativePrompt, height, width, steps, guidanceScale, guidanceRescale, clipSkip, s, numImages, scheduler, initImage, strength, progress, seeds, mask, promptSyntax, aestheticScore, negativeAestheticScore);
    }

    /** {@code k} images from the one generator of the seed (drops per-image seeds). */
    public TextToImage numImages(int k) {
        return new TextToImage(prompt, negativePrompt, height, width, steps, guidanceScale, guidanceRescale, clipSkip, seed, k, scheduler, initImage, strength, progress, null, mask, promptSyntax, aestheticScore, negativeAestheticScore);
    }

    /** A sampler by name (ddim, pndm, lms, euler, dpmpp-2m-karras, ...) instead of the pipeline's scheduler config. */
    public TextToImage scheduler(String name) {
        return new TextToImage(prompt, negativePrompt, height, width, steps, guidanceScale, guidanceRescale, clipSkip, seed, numImages, name, initImage, strength, progress, seeds, mask, promptSyntax, aestheticScore, negativeAestheticScore);
    }

    /** img2img (StableDiffusionImg2ImgPipeline): start from {@code image}, run the last {@code s} of the schedule. */
    public TextToImage initImage(Image image, double s) {
        return new TextToImage(prompt, negativePrompt, height, width, steps, guidanceScale, guidanceRescale, clipSkip, seed, numImages, scheduler,
                Objects.requireNonNull(image, "image"), s, progress, seeds, mask, promptSyntax, aestheticScore, negativeAestheticScore);
    }

    /**
     * Inpainting: repaint the white part of {@code maskImage} in {@code image} (StableDiffusionInpaintPipeline; a
     * 9-channel inpainting UNet gets mask and masked image as input, a 4-channel one is blended with the noised image
     * after every step), running the last {@code s} of the schedule (diffusers' default 1).
     */
    public TextToImage inpaint(Image image, Image maskImage, double s) {
        return new TextToImage(prompt, negativePrompt, height, width, steps, guidanceScale, guidanceRescale, clipSkip, seed, numImages, scheduler,
                Objects.requireNonNull(image, "image"), s, progress, seeds, Objects.requireNonNull(maskImage, "mask"),
                promptSyntax, aestheticScore, negativeAestheticScore);
    }

    /** Long prompts in 75-token windows, or A1111 emphasis (see {@link PromptSyntax}); default truncation. */
    public TextToImage promptSyntax(PromptSyntax syntax) {
        return new TextToImage(prompt, negativePrompt, height, width, steps, guidanceScale, guidanceRescale, clipSkip, seed, numImages, scheduler, initImage, strength, progress, seeds, mask, syntax, aestheticScore, negativeAestheticScore);
    }

    /** SDXL {@code aesthetic_score} and {@code negative_aesthetic_score} (used where the folder requires them). */
    public TextToImage aestheticScores(double score, double negativeScore) {
        return new TextToImage(prompt, negativePrompt, height, width, steps, guidanceScale, guidanceRescale, clipSkip, seed, numImages, scheduler, initImage, strength, progress, seeds, mask, promptSyntax, score, negativeScore);
    }

    public TextToImage onStep(Progress p) {
        return new TextToImage(prompt, negativePrompt, height, width, steps, guidanceScale, guidanceRescale, clipSkip, seed, numImages, scheduler, initImage, strength, p, seeds, mask, promptSyntax, aestheticScore, negativeAestheticScore);
    }

    /** The negative prompt diffusers uses: the empty string when none was given. */
    public String negativeOrEmpty() {
        return negativePrompt == null ? "" : negativePrompt;
    }

    /** Whether the unconditional pass runs (diffusers' {@code do_classifier_free_guidance}: guidance &gt; 1). */
    public boolean classifierFree() {
        return guidanceScale > 1;
    }
}
