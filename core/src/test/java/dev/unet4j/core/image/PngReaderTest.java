package dev.unet4j.core.image;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.core.testing.PngSamples;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PngReader against the JDK's own PNG codec (ImageIO writes every colour type, depth and interlacing) and against
 * the pixels Pillow read from the sd-pipeline-tiny files; corrupt, truncated and oversized files fail with the name.
 */
class PngReaderTest {
    @TempDir
    Path dir;

    private static final Random RND = new Random(7);

    private static byte[] encode(BufferedImage img, boolean interlace) throws IOException {
        return PngSamples.encode(img, interlace);
    }

    private static BufferedImage random(int w, int h, int type) {
        return PngSamples.random(w, h, type, RND);
    }

    @Test
    void rgbAndRgbaAsPillowConvertsThem() throws IOException {
        for (boolean interlace : new boolean[] {false, true}) {
            for (int type : new int[] {BufferedImage.TYPE_3BYTE_BGR, BufferedImage.TYPE_4BYTE_ABGR}) {
                BufferedImage src = random(13, 9, type);
                Image im = PngReader.decode(encode(src, interlace), "t.png", PngReader.DEFAULT_MAX_PIXELS);
                assertEquals(3, im.channels());
                for (int y = 0; y < 9; y++) {
                    for (int x = 0; x < 13; x++) {
                        int rgb = src.getRGB(x, y); // alpha dropped, not composited (Pillow's convert("RGB"))
                        int a = (rgb >>> 24);
                        int r = src.getRaster().getSample(x, y, 0);
                        assertEquals(r, im.get(x, y, 0), "red at " + x + "," + y + " alpha " + a + " interlace " + interlace);
                        assertEquals(src.getRaster().getSample(x, y, 1), im.get(x, y, 1));
                        assertEquals(src.getRaster().getSample(x, y, 2), im.get(x, y, 2));
                    }
                }
            }
        }
    }

    @Test
    void greyscale8And16BitAndPalette() throws IOException {
        BufferedImage g8 = random(7, 5, BufferedImage.TYPE_BYTE_GRAY);
        Image a = PngReader.decode(encode(g8, false), "g8.png", PngReader.DEFAULT_MAX_PIXELS);
        assertEquals(1, a.channels());
        BufferedImage g16 = random(7, 5, BufferedImage.TYPE_USHORT_GRAY);
        Image b = PngReader.decode(encode(g16, true), "g16.png", PngReader.DEFAULT_MAX_PIXELS);
        for (int y = 0; y < 5; y++) {
            for (int x = 0; x < 7; x++) {
                assertEquals(g8.getRaster().getSample(x, y, 0), a.get(x, y, 0));
                assertEquals(g16.getRaster().getSample(x, y, 0) >>> 8, b.get(x, y, 0), "16-bit keeps the high byte");
            }
        }
        byte[] rs = new byte[16], gs = new byte[16], bs = new byte[16];
        RND.nextBytes(rs);
        RND.nextBytes(gs);
        RND.nextBytes(bs);
        for (int bits : new int[] {1, 2, 4}) {
            int n = 1 << bits;
            BufferedImage pal = new BufferedImage(11, 6, BufferedImage.TYPE_BYTE_BINARY, new IndexColorModel(bits, n, rs, gs, bs));
            WritableRaster r = pal.getRaster();
            for (int y = 0; y < 6; y++) for (int x = 0; x < 11; x++) r.setSample(x, y, 0, RND.nextInt(n));
            Image p = PngReader.decode(encode(pal, bits == 2), "pal.png", PngReader.DEFAULT_MAX_PIXELS);
            assertEquals(3, p.channels());
            for (int y = 0; y < 6; y++) {
                for (int x = 0; x < 11; x++) {
                    int i = r.getSample(x, y, 0);
                    assertEquals(rs[i] & 0xFF, p.get(x, y, 0), bits + "-bit palette");
                    assertEquals(gs[i] & 0xFF, p.get(x, y, 1));
                    assertEquals(bs[i] & 0xFF, p.get(x, y, 2));
                }
            }
        }
    }

    /** The img2img input and a pipeline output as Pillow read them (image_preprocessed = png / 127.5 - 1). */
    @Test
    void pixelsPillowReadFromTheFixtureFiles() throws IOException {
        Image in = PngReader.read(Fixtures.fixture("sd-pipeline-tiny/img2img_input.png"));
        assertEquals(128, in.width());
        assertEquals(64, in.height());
        try (SafetensorsFile f = SafetensorsFile.open(Fixtures.fixture("sd-pipeline-tiny/cases/c_img2img/outputs.safetensors"));
             Tensor pre = f.load("image_preprocessed")) {
            float[] v = pre.toFloatArray(); // [1, 3, 64, 128]
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < 64; y++) {
                    for (int x = 0; x < 128; x++) {
                        assertEquals(v[(c * 64 + y) * 128 + x], in.get(x, y, c) / 127.5f - 1, 1e-6);
                    }
                }
            }
        }
        Image out = PngReader.read(Fixtures.fixture("sd-pipeline-tiny/cases/a_ddim/image.png"));
        try (SafetensorsFile f = SafetensorsFile.open(Fixtures.fixture("sd-pipeline-tiny/cases/a_ddim/outputs.safetensors"));
             Tensor img = f.load("image")) {
            float[] v = img.toFloatArray(); // [1, 64, 64, 3]
            for (int i = 0; i < v.length; i++) {
                assertEquals(Math.round(v[i] * 255), out.get((i / 3) % 64, i / 3 / 64, i % 3), 1.0);
            }
        }
    }

    @Test
    void ourOwnWriterRoundTrips() throws IOException {
        byte[] px = new byte[5 * 4 * 3];
        RND.nextBytes(px);
        Image im = new Image(5, 4, 3, px);
        Path p = dir.resolve("rt.png");
        PngWriter.write(im, p);
        assertEquals(im, PngReader.read(p));
    }

    @Test
    void badFilesFailWithTheirName() throws IOException {
        byte[] good = encode(random(16, 16, BufferedImage.TYPE_3BYTE_BGR), false);
        Path trunc = dir.resolve("trunc.png");
        Files.write(trunc, java.util.Arrays.copyOf(good, good.length - 20));
        IOException e = assertThrows(IOException.class, () -> PngReader.read(trunc));
        assertTrue(e.getMessage().contains("trunc.png") && e.getMessage().contains("truncated"), e.getMessage());

        byte[] crc = good.clone();
        crc[20] ^= 1; // inside IHDR's data
        Path bad = dir.resolve("crc.png");
        Files.write(bad, crc);
        e = assertThrows(IOException.class, () -> PngReader.read(bad));
        assertTrue(e.getMessage().contains("crc.png") && e.getMessage().contains("CRC"), e.getMessage());

        Path jpeg = dir.resolve("photo.jpg");
        Files.write(jpeg, new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0, 0, 16, 'J', 'F', 'I', 'F'});
        e = assertThrows(IOException.class, () -> PngReader.read(jpeg));
        assertTrue(e.getMessage().contains("photo.jpg") && e.getMessage().contains("not a PNG"), e.getMessage());
    }

    /** A header claiming 100000 x 100000 pixels is refused before anything of that size is allocated. */
    @Test
    void decompressionBombsAreRefusedByTheHeader() throws IOException {
        byte[] big = encode(random(8, 8, BufferedImage.TYPE_BYTE_GRAY), false);
        // IHDR data starts at 16: width, height; rewrite both and fix the CRC
        PngSamples.putInt(big, 16, 100_000);
        PngSamples.putInt(big, 20, 100_000);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(big, 12, 17);
        PngSamples.putInt(big, 29, (int) crc.getValue());
        IOException e = assertThrows(IOException.class, () -> PngReader.decode(big, "bomb.png", PngReader.DEFAULT_MAX_PIXELS));
        assertTrue(e.getMessage().contains("bomb.png") && e.getMessage().contains("decompression bomb"), e.getMessage());
        // a smaller limit applies too
        byte[] ok = encode(random(8, 8, BufferedImage.TYPE_BYTE_GRAY), false);
        assertThrows(IOException.class, () -> PngReader.decode(ok, "small.png", 63));
        assertEquals(8, PngReader.decode(ok, "small.png", 64).width());
    }
}
