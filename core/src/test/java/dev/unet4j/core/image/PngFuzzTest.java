package dev.unet4j.core.image;

import dev.unet4j.core.testing.PngSamples;
import dev.unet4j.core.testing.PngSamples.Sample;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Untrusted PNGs ({@code --init-image}, {@code --mask}, server uploads): every colour type, depth and interlacing
 * decodes as the JDK's codec decodes it; headers claiming huge sizes and small files that inflate hugely cost no
 * memory; seeded mutations of valid files either decode (to what ImageIO reads, where it reads them) or fail with an
 * {@link IOException} naming the file, never with another exception. {@code -Dunet4j.fuzz.iterations=N} (the
 * {@code -Plong} profile: 200,000) runs a longer campaign than the default 2,000.
 */
class PngFuzzTest {
    private static final String NAME = "upload.png";

    @Test
    void everyColourTypeDepthAndInterlacingDecodesAsImageIoReadsIt() throws IOException {
        List<Sample> samples = PngSamples.all(new Random(19));
        java.util.Set<String> kinds = new java.util.TreeSet<>();
        for (Sample s : samples) {
            kinds.add("depth " + s.png()[24] + " colour type " + s.png()[25] + " interlace " + s.png()[28]);
            Image expected = PngSamples.imageIoPixels(s.png());
            assertNotNull(expected, s.name());
            Image got = PngReader.decode(s.png(), s.name(), PngReader.DEFAULT_MAX_PIXELS);
            assertEquals(expected.channels(), got.channels(), s.name());
            assertEquals(expected, got, s.name());
        }
        assertEquals(30, kinds.size(), "all 15 valid depth/colour-type pairs, plain and interlaced: " + kinds);
    }

    /** A 100,000 x 100,000 header, and one just under the pixel limit with no data behind it, allocate almost nothing. */
    @Test
    void hugeHeadersAreRefusedBeforeAllocating() throws IOException {
        byte[] seed = PngSamples.encode(PngSamples.random(8, 8, java.awt.image.BufferedImage.TYPE_BYTE_GRAY, new Random(1)), false);
        PngReader.decode(seed, NAME, PngReader.DEFAULT_MAX_PIXELS); // warm up class loading
        byte[] bomb = withHeader(seed, 100_000, 100_000, 8, 0);
        long before = allocatedBytes();
        IOException e = assertThrows(IOException.class, () -> PngReader.decode(bomb, NAME, PngReader.DEFAULT_MAX_PIXELS));
        assertTrue(e.getMessage().startsWith(NAME + ": ") && e.getMessage().contains("decompression bomb"), e.getMessage());
        assertTrue(allocatedBytes() - before < 1 << 20, "allocated " + (allocatedBytes() - before));

        // a caller lifting the pixel limit still gets an IOException, not an arithmetic overflow
        byte[] wide = withHeader(seed, 50_000, 50_000, 8, 2);
        e = assertThrows(IOException.class, () -> PngReader.decode(wide, NAME, Long.MAX_VALUE));
        assertTrue(e.getMessage().contains("too large"), e.getMessage());

        // 9,000 x 9,000 16-bit RGBA passes the pixel limit (81 M < 89.5 M pixels) and would need 648 MB: the file holds
        // 64 bytes of image data, so the decoder must fail on the missing data having allocated about that much.
        byte[] empty = withHeader(seed, 9_000, 9_000, 16, 6);
        before = allocatedBytes();
        e = assertThrows(IOException.class, () -> PngReader.decode(empty, NAME, PngReader.DEFAULT_MAX_PIXELS));
        assertTrue(e.getMessage().startsWith(NAME + ": ") && e.getMessage().contains("truncated image data"), e.getMessage());
        assertTrue(allocatedBytes() - before < 4 << 20, "allocated " + (allocatedBytes() - before) + " for a " + empty.length + "-byte file");
    }

    /** 64 KB of IDAT inflating to 64 MB behind an 8 x 8 header: decoded from the first 72 bytes, as ImageIO does. */
    @Test
    void aSmallFileThatInflatesHugelyCostsOnlyItsHeaderSize() throws IOException {
        byte[] zeros = new byte[64 << 20];
        byte[] idat = deflate(zeros);
        assertTrue(idat.length < 128 << 10, idat.length + " bytes");
        byte[] png = png(8, 8, 8, 0, idat);
        Image expected = PngSamples.imageIoPixels(png);
        assertNotNull(expected);
        PngReader.decode(png, NAME, PngReader.DEFAULT_MAX_PIXELS);
        long before = allocatedBytes();
        Image got = PngReader.decode(png, NAME, PngReader.DEFAULT_MAX_PIXELS);
        long used = allocatedBytes() - before;
        assertEquals(expected, got);
        assertTrue(used < 2L * idat.length + (1 << 20), "allocated " + used + " bytes");
    }

    @Test
    void mutatedPngsDecodeOrFailWithANamedIOException() throws IOException {
        Random rnd = new Random(2026);
        List<Sample> seeds = PngSamples.all(rnd);
        int iterations = Integer.getInteger("unet4j.fuzz.iterations", 0) > 0 ? Integer.getInteger("unet4j.fuzz.iterations") : 2_000;
        int decoded = 0;
        int refused = 0;
        int compared = 0;
        for (int n = 0; n < iterations; n++) {
            Sample seed = seeds.get(rnd.nextInt(seeds.size()));
            int op = rnd.nextInt(9);
            byte[] png = mutate(seed.png(), op, rnd);
            String what = "iteration " + n + ", " + seed.name() + ", mutation " + op;
            Image got;
            try {
                got = PngReader.decode(png, NAME, 1 << 20);
            } catch (IOException e) {
                assertTrue(e.getMessage().startsWith(NAME + ": "), what + ": " + e.getMessage());
                refused++;
                continue;
            } catch (Throwable t) {
                throw new AssertionError(what + ": " + t, t);
            }
            decoded++;
            Image expected = PngSamples.imageIoPixels(png);
            if (expected != null) {
                compared++;
                if (!expected.equals(got)) fail(what + ": decoded differently from ImageIO");
            }
        }
        System.out.printf("PNG fuzz: %d mutated files, %d decoded (%d compared with ImageIO), %d refused%n",
                iterations, decoded, compared, refused);
        assertEquals(iterations, decoded + refused);
        assertTrue(decoded > 0 && refused > 0, decoded + " decoded, " + refused + " refused");
    }

    private static byte[] mutate(byte[] seed, int op, Random rnd) throws IOException {
        byte[] b = seed.clone();
        switch (op) {
            case 0 -> { // bit flips, CRCs left alone
                for (int i = 1 + rnd.nextInt(4); i > 0; i--) b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
            }
            case 1 -> { // byte changes past the signature, CRCs fixed so the decoder sees them
                for (int i = 1 + rnd.nextInt(4); i > 0; i--) b[8 + rnd.nextInt(b.length - 8)] = (byte) interesting(rnd);
                PngSamples.fixCrcs(b);
            }
            case 2 -> b = Arrays.copyOf(b, rnd.nextInt(b.length)); // truncation
            case 3 -> { // one IHDR field (width, height, depth, colour type, methods) set to an edge value
                int at = 16 + rnd.nextInt(13);
                if (at < 24 && rnd.nextBoolean()) PngSamples.putInt(b, at & ~3, interesting(rnd));
                else b[at] = (byte) interesting(rnd);
                PngSamples.fixCrcs(b);
            }
            case 4 -> { // random bytes inserted
                int at = rnd.nextInt(b.length);
                byte[] ins = new byte[1 + rnd.nextInt(16)];
                rnd.nextBytes(ins);
                byte[] out = new byte[b.length + ins.length];
                System.arraycopy(b, 0, out, 0, at);
                System.arraycopy(ins, 0, out, at, ins.length);
                System.arraycopy(b, at, out, at + ins.length, b.length - at);
                b = out;
            }
            case 5 -> { // a range deleted
                int at = rnd.nextInt(b.length);
                int len = Math.min(b.length - at, 1 + rnd.nextInt(32));
                byte[] out = new byte[b.length - len];
                System.arraycopy(b, 0, out, 0, at);
                System.arraycopy(b, at + len, out, at, b.length - at - len);
                b = out;
            }
            case 6 -> b = reorderChunks(b, rnd);
            case 7, 8 -> b = mutateImageData(b, rnd, op == 8); // inside the compressed data: filters, palette indexes, length
            default -> throw new IllegalStateException();
        }
        return b;
    }

    /** Edge values: 0, 1, 0x7F, 0x80, 0xFF, 2^31 - 1, -1, 2^16 and small random ones. */
    private static int interesting(Random rnd) {
        int[] v = {0, 1, 2, 3, 4, 6, 7, 8, 16, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000, Integer.MAX_VALUE, -1, Integer.MIN_VALUE};
        return rnd.nextInt(4) == 0 ? rnd.nextInt(256) : v[rnd.nextInt(v.length)];
    }

    /** Drops, duplicates or swaps whole chunks (a second IHDR, PLTE after IDAT, IEND first, no IDAT). */
    private static byte[] reorderChunks(byte[] png, Random rnd) {
        List<byte[]> chunks = new java.util.ArrayList<>();
        int pos = 8;
        while (pos + 12 <= png.length) {
            int len = PngSamples.readInt(png, pos);
            chunks.add(Arrays.copyOfRange(png, pos, pos + 12 + len));
            pos += 12 + len;
        }
        int i = rnd.nextInt(chunks.size());
        int j = rnd.nextInt(chunks.size());
        switch (rnd.nextInt(3)) {
            case 0 -> chunks.remove(i);
            case 1 -> chunks.add(j, chunks.get(i));
            default -> java.util.Collections.swap(chunks, i, j);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(png, 0, 8);
        for (byte[] c : chunks) out.writeBytes(c);
        return out.toByteArray();
    }

    /** Inflates the image data, changes, cuts or extends it, deflates it back (valid zlib, valid CRCs). */
    private static byte[] mutateImageData(byte[] png, Random rnd, boolean resize) throws IOException {
        ByteArrayOutputStream z = new ByteArrayOutputStream();
        int pos = 8;
        int firstIdat = -1;
        ByteArrayOutputStream rest = new ByteArrayOutputStream();
        while (pos + 12 <= png.length) {
            int len = PngSamples.readInt(png, pos);
            String type = new String(png, pos + 4, 4, java.nio.charset.StandardCharsets.ISO_8859_1);
            if (type.equals("IDAT")) {
                if (firstIdat < 0) firstIdat = pos;
                z.write(png, pos + 8, len);
            } else if (firstIdat >= 0) {
                rest.write(png, pos, 12 + len);
            }
            pos += 12 + len;
        }
        byte[] raw = inflate(z.toByteArray());
        if (resize) {
            raw = Arrays.copyOf(raw, Math.max(0, raw.length + rnd.nextInt(64) - 32));
        } else if (raw.length > 0) {
            for (int i = 1 + rnd.nextInt(3); i > 0; i--) raw[rnd.nextInt(raw.length)] = (byte) interesting(rnd);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(png, 0, firstIdat);
        out.writeBytes(chunk("IDAT", deflate(raw)));
        out.writeBytes(rest.toByteArray());
        return out.toByteArray();
    }

    private static byte[] withHeader(byte[] png, int width, int height, int depth, int colourType) {
        byte[] b = png.clone();
        PngSamples.putInt(b, 16, width);
        PngSamples.putInt(b, 20, height);
        b[24] = (byte) depth;
        b[25] = (byte) colourType;
        PngSamples.fixCrcs(b);
        return b;
    }

    private static byte[] png(int width, int height, int depth, int colourType, byte[] idat) {
        byte[] ihdr = new byte[13];
        PngSamples.putInt(ihdr, 0, width);
        PngSamples.putInt(ihdr, 4, height);
        ihdr[8] = (byte) depth;
        ihdr[9] = (byte) colourType;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
        out.writeBytes(chunk("IHDR", ihdr));
        out.writeBytes(chunk("IDAT", idat));
        out.writeBytes(chunk("IEND", new byte[0]));
        return out.toByteArray();
    }

    private static byte[] chunk(String type, byte[] data) {
        byte[] c = new byte[12 + data.length];
        PngSamples.putInt(c, 0, data.length);
        System.arraycopy(type.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1), 0, c, 4, 4);
        System.arraycopy(data, 0, c, 8, data.length);
        CRC32 crc = new CRC32();
        crc.update(c, 4, 4 + data.length);
        PngSamples.putInt(c, 8 + data.length, (int) crc.getValue());
        return c;
    }

    private static byte[] deflate(byte[] raw) {
        Deflater d = new Deflater(9);
        d.setInput(raw);
        d.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        while (!d.finished()) out.write(buf, 0, d.deflate(buf));
        d.end();
        return out.toByteArray();
    }

    private static byte[] inflate(byte[] z) throws IOException {
        Inflater inf = new Inflater();
        inf.setInput(z);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        try {
            while (!inf.finished()) {
                int k = inf.inflate(buf);
                if (k == 0 && (inf.needsInput() || inf.needsDictionary())) break;
                out.write(buf, 0, k);
            }
        } catch (java.util.zip.DataFormatException e) {
            throw new IOException(e);
        } finally {
            inf.end();
        }
        return out.toByteArray();
    }

    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getThreadAllocatedBytes(Thread.currentThread().getId());
    }
}
