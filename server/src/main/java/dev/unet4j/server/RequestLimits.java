package dev.unet4j.server;

import java.util.Base64;
import java.util.concurrent.ThreadLocalRandom;

/** The server-wide limits of {@link ServerConfig} applied to the fields every route shares. */
final class RequestLimits {
    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    /** Largest seed: A1111 and the web page use 32-bit seeds; -1 asks for a random one. */
    static final long MAX_SEED = 0xFFFF_FFFFL;

    private final ServerConfig config;

    RequestLimits(ServerConfig config) {
        this.config = config;
    }

    String prompt(Fields f, String field, boolean required) {
        return required ? f.requiredString(field, config.maxPromptChars()) : f.string(field, "", config.maxPromptChars());
    }

    int steps(Fields f, String field) {
        return f.integer(field, 0, 1, config.maxSteps());
    }

    /** Checks a size: positive multiples of 8 within the pixel cap (0 x 0 = the model's default). */
    void size(int width, int height, String widthField, String heightField) {
        if (width == 0 && height == 0) return;
        sideOk(width, widthField);
        sideOk(height, heightField);
        if ((long) width * height > config.maxPixels()) {
            throw ApiException.badField(widthField, width + "x" + height + " is more than the server's " + config.maxPixels() + " pixels");
        }
    }

    private static void sideOk(int v, String field) {
        if (v < 8 || v % 8 != 0) throw ApiException.badField(field, "must be a positive multiple of 8, got " + v);
    }

    /**
     * The {@code width} and {@code height} fields as {@code {width, height}}: both absent (0) = the model's default
     * (0 x 0), one given = the other from the model; then checked with {@link #size(int, int, String, String)}.
     */
    int[] size(Fields f, ModelInfo model) {
        int w = side(f, "width");
        int h = side(f, "height");
        if (w != 0 || h != 0) {
            if (w == 0) w = model.width();
            if (h == 0) h = model.height();
            size(w, h, "width", "height");
        }
        return new int[] {w, h};
    }

    private static int side(Fields f, String field) {
        return f.integer(field, 0, 0, 1 << 16);
    }

    /** Batch size x iterations within the per-request image cap. */
    void images(int batch, int iterations, String batchField) {
        if ((long) batch * iterations > config.maxImages()) {
            throw ApiException.badField(batchField, batch + " x " + iterations + " images is more than the server's " + config.maxImages() + " per request");
        }
    }

    int count(Fields f, String field) {
        return f.integer(field, 1, 1, config.maxImages());
    }

    /** A seed; -1 (or absent) draws a random 32-bit one, which the response echoes. */
    long seed(Fields f, String field) {
        long s = f.longValue(field, -1, -1, MAX_SEED);
        return s == -1 ? ThreadLocalRandom.current().nextLong(MAX_SEED + 1) : s;
    }

    /** A base64 PNG (optionally a data: URL), size-checked before decoding. */
    byte[] png(String base64, String field) {
        String b = base64.strip();
        if (b.startsWith("data:")) {
            int comma = b.indexOf(',');
            if (comma < 0 || !b.substring(0, comma).endsWith(";base64")) throw ApiException.badField(field, "a data: URL must be base64");
            if (!b.startsWith("data:image/png")) throw ApiException.badField(field, "only PNG images are accepted, got " + b.substring(0, comma));
            b = b.substring(comma + 1);
        }
        long decoded = (long) b.length() * 3 / 4;
        if (decoded > config.maxImageBytes()) {
            throw ApiException.badField(field, "image of about " + decoded + " bytes is over the server's " + config.maxImageBytes() + " byte limit");
        }
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(b.replaceAll("\\s", ""));
        } catch (IllegalArgumentException e) {
            throw ApiException.badField(field, "not valid base64: " + e.getMessage());
        }
        if (bytes.length < PNG_SIGNATURE.length) throw ApiException.badField(field, "not a PNG image (" + bytes.length + " bytes)");
        for (int i = 0; i < PNG_SIGNATURE.length; i++) {
            if (bytes[i] != PNG_SIGNATURE[i]) throw ApiException.badField(field, "only PNG images are accepted (no PNG signature)");
        }
        return bytes;
    }
}
