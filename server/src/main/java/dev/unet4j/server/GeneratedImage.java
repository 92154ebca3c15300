package dev.unet4j.server;

/**
 * One finished image.
 *
 * @param png    the PNG file
 * @param seed   the seed it was generated from
 * @param width  pixels
 * @param height pixels
 */
public record GeneratedImage(byte[] png, long seed, int width, int height) {
}
