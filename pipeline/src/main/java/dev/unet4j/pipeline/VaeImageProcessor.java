package dev.unet4j.pipeline;

import dev.unet4j.core.image.Image;
import dev.unet4j.core.image.LanczosResampler;
import dev.unet4j.samplers.Latents;

/**
 * diffusers' {@code VaeImageProcessor} with the settings the Stable Diffusion pipelines construct it with:
 * images in (Pillow RGB, Lanczos resize to multiples of the VAE scale factor, {@code x / 255}, then {@code 2x - 1});
 * the mask processor (greyscale by Pillow's luma, resize, {@code x / 255}, binarised at 0.5, not normalised); images
 * out ({@code (x / 2 + 0.5).clamp(0, 1)}, then {@code round(x * 255)} for 8-bit files).
 */
public final class VaeImageProcessor {
    private final int vaeScaleFactor;

    /** @param vaeScaleFactor pixels per latent ({@code 2^(len(block_out_channels) - 1)}, 8 for SD) */
    public VaeImageProcessor(int vaeScaleFactor) {
        if (vaeScaleFactor < 1) throw new IllegalArgumentException("vae scale factor must be >= 1, got " + vaeScaleFactor);
        this.vaeScaleFactor = vaeScaleFactor;
    }

    public int vaeScaleFactor() {
        return vaeScaleFactor;
    }

    /**
     * {@code get_default_height_width}: the requested size (0 = the image's own), each rounded down to a multiple of
     * the VAE scale factor.
     */
    public int[] defaultHeightWidth(Image image, int height, int width) {
        int h = height > 0 ? height : image.height();
        int w = width > 0 ? width : image.width();
        h -= h % vaeScaleFactor;
        w -= w % vaeScaleFactor;
        if (h < vaeScaleFactor || w < vaeScaleFactor) {
            throw new IllegalArgumentException("image of " + image.width() + "x" + image.height() + " is smaller than one "
                    + vaeScaleFactor + "x" + vaeScaleFactor + " latent pixel");
        }
        return new int[] {h, w};
    }

    /**
     * {@code preprocess(image, height, width)}: the image as a {@code [1, 3, H, W]} batch in [-1, 1] (greyscale
     * images are repeated over RGB as Pillow's {@code convert("RGB")}).
     */
    public Latents preprocess(Image image, int height, int width) {
        int[] hw = defaultHeightWidth(image, height, width);
        Image im = LanczosResampler.resize(rgb(image), hw[1], hw[0]);
        int h = hw[0], w = hw[1];
        float[] out = new float[3 * h * w];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    float v = im.get(x, y, c) / 255.0f;   // np.array(image).astype(np.float32) / 255.0
                    out[(c * h + y) * w + x] = 2.0f * v - 1.0f;
                }
            }
        }
        return new Latents(out, new int[] {1, 3, h, w});
    }

    /**
     * The mask processor's {@code preprocess}: {@code [1, 1, H, W]} of 0 (keep) and 1 (repaint) from a mask image
     * (white = repaint), greyscale by Pillow's luma, resized like the image, binarised at 0.5.
     */
    public Latents preprocessMask(Image mask, int height, int width) {
        int[] hw = defaultHeightWidth(mask, height, width);
        Image im = LanczosResampler.resize(grey(mask), hw[1], hw[0]);
        int h = hw[0], w = hw[1];
        float[] out = new float[h * w];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) out[y * w + x] = im.get(x, y, 0) / 255.0f < 0.5f ? 0f : 1f;
        }
        return new Latents(out, new int[] {1, 1, h, w});
    }

    /** {@code (x / 2 + 0.5).clamp(0, 1)} of a decoded batch {@code [B, 3, H, W]}, in float32. */
    public static float[] denormalize(float[] decoded) {
        float[] out = new float[decoded.length];
        for (int i = 0; i < out.length; i++) {
            float v = decoded[i] / 2f + 0.5f;
            out[i] = Float.isNaN(v) ? v : Math.max(0f, Math.min(1f, v));
        }
        return out;
    }

    /** Pillow's {@code convert("RGB")}: greyscale repeated, RGB unchanged. */
    static Image rgb(Image image) {
        if (image.channels() == 3) return image;
        byte[] g = image.pixels();
        byte[] out = new byte[g.length * 3];
        for (int i = 0; i < g.length; i++) {
            out[3 * i] = g[i];
            out[3 * i + 1] = g[i];
            out[3 * i + 2] = g[i];
        }
        return new Image(image.width(), image.height(), 3, out);
    }

    /** Pillow's {@code convert("L")}: L = (19595 R + 38470 G + 7471 B + 2^15) >> 16. */
    static Image grey(Image image) {
        if (image.channels() == 1) return image;
        byte[] p = image.pixels();
        byte[] out = new byte[p.length / 3];
        for (int i = 0; i < out.length; i++) {
            int r = p[3 * i] & 0xFF, g = p[3 * i + 1] & 0xFF, b = p[3 * i + 2] & 0xFF;
            out[i] = (byte) ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
        }
        return new Image(image.width(), image.height(), 1, out);
    }
}
