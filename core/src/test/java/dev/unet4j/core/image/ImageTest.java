package dev.unet4j.core.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageTest {

    @Test
    void pixelMappingFollowsDiffusersNumpyToPil() {
        // (x/2+0.5).clamp(0,1)*255 then numpy round (half to even); values worked out by hand:
        // -1 -> 0, 1 -> 255, 0 -> 127.5 -> 128, 3 -> clamp 255, -7 -> 0, -0.5 -> 63.75 -> 64, 0.5 -> 191.25 -> 191,
        // NaN -> 0 (black rather than an exception for a diverged sample)
        float[] x = {-1f, 1f, 0f, 3f, -7f, -0.5f, 0.5f, Float.NaN};
        int[] expected = {0, 255, 128, 255, 0, 64, 191, 0};
        Image im = Image.fromSignedUnit(x, new int[] {1, 1, 2, 4}, 0);
        for (int i = 0; i < x.length; i++) assertEquals(expected[i], im.get(i % 4, i / 4, 0), "value " + x[i]);
    }

    @Test
    void rgbChannelsAreInterleavedFromPlanes() {
        // batch of 2, 3 channels, 1x2: item 1 has R=1, G=-1, B=0 at both pixels
        float[] x = new float[2 * 3 * 2];
        x[6] = 1; x[7] = 1; x[8] = -1; x[9] = -1;
        Image im = Image.fromSignedUnit(x, new int[] {2, 3, 1, 2}, 1);
        assertArrayEquals(new byte[] {(byte) 255, 0, (byte) 128, (byte) 255, 0, (byte) 128}, im.pixels());
        assertThrows(IllegalArgumentException.class, () -> Image.fromSignedUnit(new float[4 * 4], new int[] {1, 4, 2, 2}, 0));
    }

    @Test
    void upscaleAndGridPlacePixelsExactly() {
        Image a = new Image(2, 1, 1, new byte[] {1, 2});
        Image b = new Image(2, 1, 1, new byte[] {3, 4});
        Image c = new Image(2, 1, 1, new byte[] {5, 6});
        Image g = Image.grid(List.of(a, b, c), 2);
        assertEquals(4, g.width());
        assertEquals(2, g.height());
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 0, 0}, g.pixels());
        Image up = a.upscale(2);
        assertArrayEquals(new byte[] {1, 1, 2, 2, 1, 1, 2, 2}, up.pixels());
    }

    @Test
    void pngDecodesToTheSamePixelsWithImageIo() throws IOException {
        for (int channels : new int[] {1, 3}) {
            int w = 37, h = 11;
            byte[] px = new byte[w * h * channels];
            for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 31 + 7);
            Image im = new Image(w, h, channels, px);
            BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(PngWriter.encode(im)));
            assertEquals(w, decoded.getWidth());
            assertEquals(h, decoded.getHeight());
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int[] got = decoded.getRaster().getPixel(x, y, (int[]) null);
                    for (int c = 0; c < channels; c++) assertEquals(im.get(x, y, c), got[c], "pixel " + x + "," + y);
                }
            }
        }
    }

    @Test
    void atomicWriteLeavesNoPartialFile(@TempDir Path dir) throws IOException {
        Path target = dir.resolve("sub/out.png");
        Image im = new Image(3, 2, 1, new byte[6]);
        PngWriter.write(im, target);
        assertArrayEquals(PngWriter.encode(im), Files.readAllBytes(target));
        PngWriter.write(new Image(1, 1, 1, new byte[] {9}), target); // replaces
        assertEquals(1, ImageIO.read(target.toFile()).getWidth());

        // the final rename fails (the target is a non-empty folder): no PNG, no temporary file left behind
        Path blocked = dir.resolve("blocked.png");
        Files.createDirectories(blocked.resolve("x"));
        assertThrows(IOException.class, () -> PngWriter.write(im, blocked));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of("blocked.png", "sub"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        assertTrue(Files.isDirectory(blocked.resolve("x")));
    }
}
