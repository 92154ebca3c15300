package dev.unet4j.core.image;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * An 8-bit image, grayscale (1 channel) or RGB (3 channels), pixels row-major with channels interleaved. Immutable:
 * the constructor and {@link #pixels()} copy.
 *
 * <p>Model outputs become images with {@link #fromSignedUnit}: diffusers' {@code numpy_to_pil} convention for
 * pixel-space models working in [-1, 1] (clamp, {@code (x + 1) / 2 * 255}, round half to even as numpy does), no
 * inversion, no border.
 */
public record Image(int width, int height, int channels, byte[] pixels) {

    public Image {
        if (width < 1 || height < 1) throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        if (channels != 1 && channels != 3) throw new IllegalArgumentException("images have 1 or 3 channels, got " + channels);
        Objects.requireNonNull(pixels, "pixels");
        if ((long) width * height * channels != pixels.length) {
            throw new IllegalArgumentException(pixels.length + " bytes for a " + width + "x" + height + "x" + channels + " image");
        }
        pixels = pixels.clone();
    }

    @Override
    public byte[] pixels() {
        return pixels.clone();
    }

    /** Value (0..255) of channel {@code c} at column {@code x}, row {@code y}. */
    public int get(int x, int y, int c) {
        return pixels[(y * width + x) * channels + c] & 0xFF;
    }

    /**
     * The {@code item}-th image of an NCHW float batch in [-1, 1] (values outside are clamped; NaN becomes 0).
     *
     * @param nchw  batch data, row-major {@code [N, C, H, W]} with C = 1 or 3
     * @param shape {@code [N, C, H, W]}
     */
    public static Image fromSignedUnit(float[] nchw, int[] shape, int item) {
        if (shape.length != 4) throw new IllegalArgumentException("expected an [N, C, H, W] batch, got shape " + Arrays.toString(shape));
        int n = shape[0], c = shape[1], h = shape[2], w = shape[3];
        if (c != 1 && c != 3) {
            throw new IllegalArgumentException("only 1- or 3-channel samples can be shown as images, got " + c
                    + " channels (latent models need a VAE decoder)");
        }
        if ((long) n * c * h * w != nchw.length) {
            throw new IllegalArgumentException(nchw.length + " values for shape " + Arrays.toString(shape));
        }
        if (item < 0 || item >= n) throw new IndexOutOfBoundsException("item " + item + " of a batch of " + n);
        byte[] px = new byte[h * w * c];
        int plane = h * w;
        int base = item * c * plane;
        for (int ch = 0; ch < c; ch++) {
            for (int i = 0; i < plane; i++) px[i * c + ch] = (byte) toByte(nchw[base + ch * plane + i]);
        }
        return new Image(w, h, c, px);
    }

    /** Every image of an NCHW batch in [-1, 1], in batch order. */
    public static List<Image> batchFromSignedUnit(float[] nchw, int[] shape) {
        if (shape.length != 4) throw new IllegalArgumentException("expected an [N, C, H, W] batch, got shape " + Arrays.toString(shape));
        List<Image> out = new ArrayList<>(shape[0]);
        for (int i = 0; i < shape[0]; i++) out.add(fromSignedUnit(nchw, shape, i));
        return out;
    }

    /**
     * One value in [-1, 1] to 0..255 as diffusers does it in float32: {@code (x / 2 + 0.5).clamp(0, 1)}, then
     * {@code (v * 255).round()} (half to even).
     */
    static int toByte(float x) {
        if (Float.isNaN(x)) return 0;
        float v = x / 2f + 0.5f;
        v = Math.max(0f, Math.min(1f, v));
        return (int) Math.rint(v * 255f);
    }

    /** Nearest-neighbour upscale by an integer factor (1 returns this image). */
    public Image upscale(int factor) {
        if (factor < 1) throw new IllegalArgumentException("upscale factor must be >= 1, got " + factor);
        if (factor == 1) return this;
        long size = (long) width * factor * height * factor * channels;
        if (size > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("upscaled image too large: " + size + " bytes");
        int w2 = width * factor, h2 = height * factor;
        byte[] out = new byte[(int) size];
        for (int y = 0; y < h2; y++) {
            int sy = y / factor;
            for (int x = 0; x < w2; x++) {
                System.arraycopy(pixels, (sy * width + x / factor) * channels, out, (y * w2 + x) * channels, channels);
            }
        }
        return new Image(w2, h2, channels, out);
    }

    /**
     * Tiles equally sized images left to right, top to bottom, {@code columns} per row, with no border; a short last
     * row is filled with black.
     */
    public static Image grid(List<Image> cells, int columns) {
        if (cells.isEmpty()) throw new IllegalArgumentException("a grid needs at least one image");
        if (columns < 1) throw new IllegalArgumentException("columns must be >= 1, got " + columns);
        Image first = cells.get(0);
        for (Image im : cells) {
            if (im.width != first.width || im.height != first.height || im.channels != first.channels) {
                throw new IllegalArgumentException("grid cells differ: " + first.width + "x" + first.height + "x" + first.channels
                        + " and " + im.width + "x" + im.height + "x" + im.channels);
            }
        }
        int cols = Math.min(columns, cells.size());
        int rows = (cells.size() + columns - 1) / columns;
        int cw = first.width, ch = first.height, c = first.channels;
        int w = cols * cw, h = rows * ch;
        byte[] out = new byte[w * h * c];
        for (int i = 0; i < cells.size(); i++) {
            int ox = (i % columns) * cw, oy = (i / columns) * ch;
            byte[] src = cells.get(i).pixels;
            for (int y = 0; y < ch; y++) {
                System.arraycopy(src, y * cw * c, out, ((oy + y) * w + ox) * c, cw * c);
            }
        }
        return new Image(w, h, c, out);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Image i && i.width == width && i.height == height && i.channels == channels
                && Arrays.equals(i.pixels, pixels);
    }

    @Override
    public int hashCode() {
        return Objects.hash(width, height, channels) * 31 + Arrays.hashCode(pixels);
    }

    @Override
    public String toString() {
        return "Image[" + width + "x" + height + (channels == 1 ? " gray" : " rgb") + "]";
    }
}
