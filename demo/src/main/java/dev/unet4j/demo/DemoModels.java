package dev.unet4j.demo;

import java.nio.file.Path;

/**
 * The two demo models that ship inside this jar, as folders the loaders read:
 * <ul>
 *   <li>{@link #digits()}: a class-conditional diffusers {@code UNet2DModel} on 16x16 grey handwritten digits (classes
 *       0-9, 10 = unconditional; DDIM 25 steps, guidance 1.5), with its {@code scheduler_config.json};</li>
 *   <li>{@link #text()}: a Stable Diffusion 1.5 shaped pipeline folder ({@code model_index.json}, tokenizer, CLIP text
 *       encoder, UNet, VAE) trained on handwritten digits at 32x32 RGB ("a handwritten seven"; DDIM 25, guidance 3).</li>
 * </ul>
 * The loaders memory-map files, so each model is extracted once to {@code <cache>/demo-digits-<hash>/} (resp.
 * {@code demo-text-<hash>}), every file checked against the model's {@code SHA256SUMS}; see {@link BundledModel}.
 * The cache folder is {@code -Dunet4j.cache}, else {@code $UNET4J_CACHE}, else {@code ~/.cache/unet4j}.
 */
public final class DemoModels {
    private static final BundledModel DIGITS = new BundledModel("demo-digits", "/dev/unet4j/demo/digits/");
    private static final BundledModel TEXT = new BundledModel("demo-text", "/dev/unet4j/demo/text/");

    private DemoModels() {
    }

    /** The class-conditional digits UNet folder (extracted and verified). */
    public static Path digits() {
        return DIGITS.folder();
    }

    /** The digits text-to-image pipeline folder (extracted and verified). */
    public static Path text() {
        return TEXT.folder();
    }

    /** Whether {@code configJson} is the digits UNet's {@code config.json} byte for byte (copies, quantized versions). */
    public static boolean isDigitsConfig(byte[] configJson) {
        return DIGITS.isFile("config.json", configJson);
    }

    /** The folder models are extracted under. */
    public static Path cacheRoot() {
        return BundledModel.cacheRoot();
    }
}
