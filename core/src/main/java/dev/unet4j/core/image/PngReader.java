package dev.unet4j.core.image;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Decodes PNG files into 8-bit {@link Image}s with no AWT dependency, as Pillow's {@code Image.open(f).convert("RGB")}
 * sees them (what diffusers' {@code load_image} does): every colour type (greyscale, RGB, palette, with or without
 * alpha), bit depths 1-16, Adam7 interlacing. Alpha is dropped as {@code convert("RGB")} drops it (no compositing),
 * 16-bit samples keep their high byte (Pillow's {@code RGB;16B} unpacking), palettes are expanded. Greyscale files stay
 * 1-channel images.
 *
 * <p>Untrusted input is refused before it costs memory: the pixel count is checked against a limit (Pillow's
 * decompression-bomb limit by default) before any buffer is allocated, inflation stops at the size the header
 * implies, and truncated files, bad CRCs, bad filters and out-of-range palette indexes are {@link IOException}s that
 * name the file.
 */
public final class PngReader {
    /** Pillow's {@code Image.MAX_IMAGE_PIXELS}: larger images are refused as decompression bombs. */
    public static final long DEFAULT_MAX_PIXELS = 89_478_485L;
    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    private static final int[][] ADAM7 = { // x0, y0, dx, dy
        {0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};

    private PngReader() {
    }

    /** Reads {@code file} with the default pixel limit. */
    public static Image read(Path file) throws IOException {
        return read(file, DEFAULT_MAX_PIXELS);
    }

    /** Reads {@code file}, refusing images of more than {@code maxPixels} pixels. */
    public static Image read(Path file, long maxPixels) throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file.toString(), null, "image file not found");
        }
        return decode(bytes, file.toString(), maxPixels);
    }

    /**
     * Decodes PNG bytes; {@code name} names the source in error messages.
     *
     * @throws IOException naming {@code name} for anything that is not a complete, valid, supported PNG
     */
    public static Image decode(byte[] png, String name, long maxPixels) throws IOException {
        return new Decoder(png, name, maxPixels).decode();
    }

    private static final class Decoder {
        private final byte[] b;
        private final String name;
        private final long maxPixels;
        private int pos;
        private int width;
        private int height;
        private int depth;
        private int colorType;
        private boolean interlaced;
        private byte[] palette;

        Decoder(byte[] b, String name, long maxPixels) {
            this.b = b;
            this.name = name;
            this.maxPixels = maxPixels;
        }

        private IOException fail(String what) {
            return new IOException(name + ": " + what);
        }

        Image decode() throws IOException {
            if (b.length < 8) throw fail("not a PNG file (" + b.length + " bytes, too short for the PNG signature)");
            for (int i = 0; i < 8; i++) {
                if (b[i] != SIGNATURE[i]) throw fail("not a PNG file (no PNG signature; only PNG images are supported)");
            }
            pos = 8;
            ByteArrayOutputStream idat = new ByteArrayOutputStream();
            boolean haveHeader = false;
            boolean end = false;
            while (!end) {
                if (pos + 8 > b.length) throw fail("truncated PNG: the file ends before " + (haveHeader ? "IEND" : "IHDR"));
                long len = readInt(pos) & 0xFFFFFFFFL;
                String type = new String(b, pos + 4, 4, StandardCharsets.ISO_8859_1);
                if (len > b.length - pos - 12L) {
                    throw fail("truncated PNG: chunk " + printable(type) + " declares " + len + " bytes, "
                            + Math.max(0, b.length - pos - 12) + " remain");
                }
                int data = pos + 8;
                int n = (int) len;
                CRC32 crc = new CRC32();
                crc.update(b, pos + 4, 4 + n);
                if ((int) crc.getValue() != readInt(data + n)) throw fail("CRC error in chunk " + printable(type) + " (corrupt file)");
                if (!haveHeader && !type.equals("IHDR")) throw fail("the first chunk is " + printable(type) + ", expected IHDR");
                switch (type) {
                    case "IHDR" -> {
                        if (haveHeader) throw fail("a second IHDR chunk");
                        header(data, n);
                        haveHeader = true;
                    }
                    case "PLTE" -> {
                        if (n % 3 != 0 || n == 0 || n > 768) throw fail("PLTE chunk of " + n + " bytes (expected 3 to 768, a multiple of 3)");
                        palette = java.util.Arrays.copyOfRange(b, data, data + n);
                    }
                    case "IDAT" -> idat.write(b, data, n);
                    case "IEND" -> end = true;
                    default -> {
                        if ((type.charAt(0) & 0x20) == 0) throw fail("unsupported critical chunk " + printable(type));
                    }
                }
                pos = data + n + 4;
            }
            if (idat.size() == 0) throw fail("no image data (IDAT chunk)");
            if (colorType == 3 && palette == null) throw fail("palette image without a PLTE chunk");
            return pixels(inflate(idat.toByteArray()));
        }

        private void header(int at, int n) throws IOException {
            if (n != 13) throw fail("IHDR chunk of " + n + " bytes, expected 13");
            width = readInt(at);
            height = readInt(at + 4);
            depth = b[at + 8] & 0xFF;
            colorType = b[at + 9] & 0xFF;
            int compression = b[at + 10] & 0xFF;
            int filter = b[at + 11] & 0xFF;
            int interlace = b[at + 12] & 0xFF;
            if (width <= 0 || height <= 0) throw fail("invalid image size " + (width & 0xFFFFFFFFL) + "x" + (height & 0xFFFFFFFFL));
            if ((long) width * height > maxPixels) {
                throw fail("image of " + width + "x" + height + " = " + (long) width * height + " pixels exceeds the limit of "
                        + maxPixels + " pixels (possible decompression bomb)");
            }
            boolean ok = switch (colorType) {
                case 0 -> depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
                case 3 -> depth == 1 || depth == 2 || depth == 4 || depth == 8;
                case 2, 4, 6 -> depth == 8 || depth == 16;
                default -> throw fail("invalid colour type " + colorType);
            };
            if (!ok) throw fail("invalid bit depth " + depth + " for colour type " + colorType);
            long bytes = (long) width * height * (colorType == 0 || colorType == 4 ? 1 : 3);
            if (bytes > Integer.MAX_VALUE - 16) throw fail("image of " + width + "x" + height + " is too large for one array");
            if (compression != 0 || filter != 0) throw fail("unknown compression/filter method " + compression + "/" + filter);
            if (interlace > 1) throw fail("unknown interlace method " + interlace);
            interlaced = interlace == 1;
        }

        private int samples() {
            return switch (colorType) {
                case 2 -> 3;
                case 4 -> 2;
                case 6 -> 4;
                default -> 1;
            };
        }

        private long rowBytes(int w) {
            return ((long) w * samples() * depth + 7) / 8;
        }

        private byte[] inflate(byte[] z) throws IOException {
            long expected = 0;
            if (interlaced) {
                for (int[] p : ADAM7) {
                    int pw = passSize(width, p[0], p[2]);
                    int ph = passSize(height, p[1], p[3]);
                    if (pw > 0 && ph > 0) expected += (rowBytes(pw) + 1) * ph;
                }
            } else {
                expected = (rowBytes(width) + 1) * height;
            }
            if (expected > Integer.MAX_VALUE - 16) throw fail("image data of " + expected + " bytes is too large");
            // The buffer grows with the data actually inflated, not with the header's claim: a tiny file whose header
            // is just under the pixel limit must fail as truncated having cost about its own size, not 648 MB.
            byte[] out = new byte[(int) Math.min(expected, Math.max(1 << 16, 4L * z.length))];
            Inflater inf = new Inflater();
            try {
                inf.setInput(z);
                int got = 0;
                while (got < expected) {
                    if (got == out.length) out = java.util.Arrays.copyOf(out, (int) Math.min(expected, 2L * out.length));
                    int k = inf.inflate(out, got, out.length - got);
                    if (k == 0) {
                        if (inf.finished() || inf.needsInput()) {
                            throw fail("truncated image data: " + got + " of " + expected + " bytes");
                        }
                        if (inf.needsDictionary()) throw fail("corrupt image data (zlib dictionary requested)");
                    }
                    got += k;
                }
            } catch (DataFormatException e) {
                throw fail("corrupt image data (" + e.getMessage() + ")");
            } finally {
                inf.end();
            }
            return out;
        }

        private Image pixels(byte[] raw) throws IOException {
            int channels = colorType == 0 || colorType == 4 ? 1 : 3;
            byte[] px = new byte[width * height * channels]; // in int range: checked with the header
            int off = 0;
            if (!interlaced) {
                unfilterPass(raw, 0, width, height, 0, 0, 1, 1, px, channels);
            } else {
                for (int[] p : ADAM7) {
                    int pw = passSize(width, p[0], p[2]);
                    int ph = passSize(height, p[1], p[3]);
                    if (pw == 0 || ph == 0) continue;
                    off = unfilterPass(raw, off, pw, ph, p[0], p[1], p[2], p[3], px, channels);
                }
            }
            return new Image(width, height, channels, px);
        }

        private static int passSize(int size, int start, int step) {
            return size <= start ? 0 : (size - start + step - 1) / step;
        }

        /** Un-filters one (sub)image at {@code off} of {@code raw} and scatters it into {@code px}; returns the end. */
        private int unfilterPass(byte[] raw, int off, int w, int h, int x0, int y0, int dx, int dy, byte[] px,
                                 int channels) throws IOException {
            int stride = (int) rowBytes(w);
            int bpp = Math.max(1, samples() * depth / 8);
            byte[] prev = new byte[stride];
            byte[] cur = new byte[stride];
            for (int y = 0; y < h; y++) {
                int filter = raw[off] & 0xFF;
                System.arraycopy(raw, off + 1, cur, 0, stride);
                off += stride + 1;
                for (int i = 0; i < stride; i++) {
                    int a = i >= bpp ? cur[i - bpp] & 0xFF : 0;
                    int up = prev[i] & 0xFF;
                    int c = i >= bpp ? prev[i - bpp] & 0xFF : 0;
                    int v = cur[i] & 0xFF;
                    switch (filter) {
                        case 0 -> { }
                        case 1 -> v += a;
                        case 2 -> v += up;
                        case 3 -> v += (a + up) >>> 1;
                        case 4 -> v += paeth(a, up, c);
                        default -> throw fail("invalid filter type " + filter + " in row " + y);
                    }
                    cur[i] = (byte) v;
                }
                int py = y0 + y * dy;
                for (int x = 0; x < w; x++) {
                    int dst = ((py * width) + x0 + x * dx) * channels;
                    store(cur, x, px, dst, channels);
                }
                byte[] t = prev;
                prev = cur;
                cur = t;
            }
            return off;
        }

        /** Pixel {@code x} of an un-filtered row into 8-bit grey or RGB. */
        private void store(byte[] row, int x, byte[] px, int dst, int channels) throws IOException {
            if (depth < 8) {
                int perByte = 8 / depth;
                int v = ((row[x / perByte] & 0xFF) >>> (8 - depth * (x % perByte + 1))) & ((1 << depth) - 1);
                if (colorType == 3) {
                    putPalette(v, px, dst);
                } else {
                    px[dst] = (byte) (v * 255 / ((1 << depth) - 1)); // exact for 1, 2, 4 bits
                }
                return;
            }
            int bytesPerSample = depth / 8;
            int s = x * samples() * bytesPerSample; // the high byte of a 16-bit sample comes first
            switch (colorType) {
                case 3 -> putPalette(row[s] & 0xFF, px, dst);
                case 0, 4 -> px[dst] = row[s];
                default -> {
                    px[dst] = row[s];
                    px[dst + 1] = row[s + bytesPerSample];
                    px[dst + 2] = row[s + 2 * bytesPerSample];
                }
            }
        }

        private void putPalette(int index, byte[] px, int dst) throws IOException {
            if (3 * index + 2 >= palette.length) {
                throw fail("palette index " + index + " outside the " + palette.length / 3 + "-entry palette");
            }
            px[dst] = palette[3 * index];
            px[dst + 1] = palette[3 * index + 1];
            px[dst + 2] = palette[3 * index + 2];
        }

        private static int paeth(int a, int b, int c) {
            int p = a + b - c;
            int pa = Math.abs(p - a);
            int pb = Math.abs(p - b);
            int pc = Math.abs(p - c);
            if (pa <= pb && pa <= pc) return a;
            return pb <= pc ? b : c;
        }

        private int readInt(int at) {
            return ((b[at] & 0xFF) << 24) | ((b[at + 1] & 0xFF) << 16) | ((b[at + 2] & 0xFF) << 8) | (b[at + 3] & 0xFF);
        }

        private static String printable(String type) {
            return type.chars().allMatch(ch -> ch >= 'A' && ch <= 'z') ? type : "(unreadable chunk type)";
        }
    }
}
