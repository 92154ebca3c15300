package dev.unet4j.e2e;

import dev.unet4j.cli.Main;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A demo grid drawn by the CLI against the PNG diffusers drew with the same settings, sample by sample. */
final class GridParity {
    /** {@code differing} of the {@code compared} samples are off, the largest by {@code worst} levels. */
    record Result(int differing, int worst, int compared) {
    }

    private GridParity() {
    }

    /**
     * Runs {@code unet4j generate args... --out out} in-process (the demo model extracted under the build folder),
     * checks it succeeded and printed {@code summary}, and compares channels {@code 0..channels-1} of every pixel
     * with {@code reference}.
     */
    static Result generate(Path out, String summary, Path reference, int channels, String... args) throws IOException {
        System.setProperty("unet4j.cache", Path.of("target", "unet4j-cache").toAbsolutePath().toString());
        StringWriter stdout = new StringWriter(), stderr = new StringWriter();
        String[] all = Stream.concat(Stream.concat(Stream.of("generate"), Arrays.stream(args)), Stream.of("--out", out.toString()))
                .toArray(String[]::new);
        int code = Main.run(new PrintWriter(stdout, true), new PrintWriter(stderr, true), all);
        assertEquals(0, code, stderr.toString());
        assertTrue(stdout.toString().contains(summary), stdout.toString());

        BufferedImage ours = ImageIO.read(out.toFile());
        BufferedImage diffusers = ImageIO.read(reference.toFile());
        assertEquals(diffusers.getWidth(), ours.getWidth());
        assertEquals(diffusers.getHeight(), ours.getHeight());
        int differing = 0, worst = 0;
        for (int y = 0; y < ours.getHeight(); y++) {
            for (int x = 0; x < ours.getWidth(); x++) {
                for (int c = 0; c < channels; c++) {
                    int d = Math.abs(ours.getRaster().getSample(x, y, c) - diffusers.getRaster().getSample(x, y, c));
                    if (d != 0) differing++;
                    worst = Math.max(worst, d);
                }
            }
        }
        return new Result(differing, worst, ours.getWidth() * ours.getHeight() * channels);
    }
}
