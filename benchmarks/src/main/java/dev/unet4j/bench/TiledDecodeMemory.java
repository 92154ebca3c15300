package dev.unet4j.bench;

import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.vae.AutoencoderKL;
import dev.unet4j.vae.VaeTiling;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The memory of a tiled VAE decode, alone in its JVM so that the process's peak resident set ({@code VmHWM} of
 * {@code /proc/self/status}) is the decode's: the SD 1.5 VAE with seeded weights decodes {@code [1, 4, L, L]} latents
 * in tiles of {@code T} pixels (overlap 0.25). Prints one line {@code tiled-decode: key=value ...} that
 * {@link PipelineSideBySide} reads: parameters, weight bytes, the peak RSS after building the model and after the
 * decode (kB), and the decode's seconds.
 *
 * <p>Usage: {@code TiledDecodeMemory L T} (the case: {@code 128 512}, a 1024x1024 image), run with
 * {@code MALLOC_MMAP_THRESHOLD_=4194304} in the environment as {@link PipelineSideBySide} does.
 */
public final class TiledDecodeMemory {
    static final String PREFIX = "tiled-decode:";
    /** glibc's {@code MALLOC_MMAP_THRESHOLD_} for the measurement (bytes): buffers from 4 MB up are mapped and unmapped. */
    static final long MMAP_THRESHOLD = 4L << 20;

    private TiledDecodeMemory() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 2) throw new IllegalArgumentException("usage: TiledDecodeMemory LATENT_SIZE TILE_PIXELS");
        int latent = Integer.parseInt(args[0]), tile = Integer.parseInt(args[1]);
        try (DnnlKernels kernels = new DnnlKernels(); AutoencoderKL vae = Sd15Parts.vae(kernels); Tensor z = Sd15Parts.latents(latent)) {
            long built = peakRssKb();
            long t0 = System.nanoTime();
            try (Tensor image = vae.decodeTiled(z, new VaeTiling(tile, 0.25))) {
                double s = (System.nanoTime() - t0) / 1e9;
                System.out.printf(Locale.ROOT, "%s params=%d weight_bytes=%d image=%dx%d hwm_built_kb=%d hwm_kb=%d seconds=%.2f%n", PREFIX,
                        vae.parameterCount(), 4 * vae.parameterCount(), image.dim(2), image.dim(3), built, peakRssKb(), s);
            }
        }
    }

    /** {@code VmHWM} of this process, kB. */
    static long peakRssKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) return Long.parseLong(line.substring(6).trim().split("\\s+")[0]);
        }
        throw new IOException("/proc/self/status has no VmHWM line");
    }
}
