package dev.unet4j.vae;

/**
 * How {@link AutoencoderKL#decodeTiled} and {@link AutoencoderKL#encodeTiled} cut an image: diffusers'
 * {@code tile_sample_min_size} (pixels; the latent tile is {@code int(tileSampleSize / f)}) and
 * {@code tile_overlap_factor}. diffusers takes the tile size from the config's {@code sample_size} and the overlap
 * 0.25 ({@link AutoencoderKL#defaultTiling()}); larger tiles see more of the image (closer to an untiled pass) and
 * need more memory.
 *
 * @param tileSampleSize tile edge in pixels
 * @param overlap        fraction of a tile shared with each neighbour, in [0, 1)
 */
public record VaeTiling(int tileSampleSize, double overlap) {
    public VaeTiling {
        if (tileSampleSize < 1) throw new IllegalArgumentException("VaeTiling: tileSampleSize must be positive, got " + tileSampleSize);
        if (!(overlap >= 0 && overlap < 1)) throw new IllegalArgumentException("VaeTiling: overlap must be in [0, 1), got " + overlap);
    }

    /** {@code tile_latent_min_size = int(tile_sample_min_size / f)}. */
    int tileLatentSize(int scaleFactor) {
        return (int) (tileSampleSize / (double) scaleFactor);
    }

    /** Tile starts are this far apart: {@code int(tile * (1 - overlap))}; checked to be at least 1. */
    static int step(int tile, double overlap, String what) {
        int step = (int) (tile * (1 - overlap));
        if (step < 1) throw new IllegalArgumentException("VaeTiling: " + what + " tiles of " + tile + " with overlap " + overlap + " do not advance");
        return step;
    }
}
