package dev.unet4j.server;

import dev.unet4j.core.image.PngReader;

import java.io.IOException;

/**
 * Checks an uploaded img2img image before the request is queued. The output of img2img has the init image's size
 * (the request's width and height do not resize it), so the image may have at most the server's pixel cap: the PNG
 * header's size is checked first, before anything is allocated, and only then is the image decoded in full — in one
 * of the {@link DecodeSlots}, so a broken PNG is a 400 and concurrent uploads stay within the heap.
 */
final class InitImageCheck {
    /** The IHDR chunk of a PNG: its length (13) and type follow the 8-byte signature, then width and height. */
    private static final int IHDR_WIDTH = 16;

    private final long maxPixels;
    private final DecodeSlots slots;

    InitImageCheck(long maxPixels, DecodeSlots slots) {
        this.maxPixels = maxPixels;
        this.slots = slots;
    }

    /** Refuses {@code png} (400 naming {@code field}) when it is over the pixel cap or does not decode. */
    void check(byte[] png, String field, int width, int height) {
        if (png.length >= IHDR_WIDTH + 8 && png[12] == 'I' && png[13] == 'H' && png[14] == 'D' && png[15] == 'R') {
            long w = readUnsigned(png, IHDR_WIDTH);
            long h = readUnsigned(png, IHDR_WIDTH + 4);
            if (w * h > maxPixels) {
                String asked = width > 0 && height > 0 ? "; the request asks for " + width + "x" + height : "";
                throw ApiException.badField(field, "image of " + w + "x" + h + " = " + w * h + " pixels is more than the server's "
                        + maxPixels + " pixels (img2img keeps the init image's size" + asked + ")");
            }
        } // anything else is not a valid PNG: the decoder below names what is wrong without allocating for it
        try (DecodeSlots.Slot ignored = slots.acquire(field)) {
            PngReader.decode(png, "image", maxPixels);
        } catch (IOException | RuntimeException e) {
            if (e instanceof ApiException a) throw a;
            throw ApiException.badField(field, "not a readable PNG: " + e.getMessage());
        }
    }

    private static long readUnsigned(byte[] b, int at) {
        return ((b[at] & 0xFFL) << 24) | ((b[at + 1] & 0xFFL) << 16) | ((b[at + 2] & 0xFFL) << 8) | (b[at + 3] & 0xFFL);
    }
}
