package dev.unet4j.core.image;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;

/**
 * Encodes {@link Image}s as PNG (8-bit grayscale or RGB, no interlace, filter type 0 on every row) with no AWT
 * dependency, so it works on headless servers and in native images. Output is deterministic: the same image always
 * gives the same bytes.
 */
public final class PngWriter {
    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    private PngWriter() {
    }

    /** The PNG file bytes of {@code image}. */
    public static byte[] encode(Image image) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(image.width() * image.height() * image.channels() / 2 + 64);
        try {
            write(image, out);
        } catch (IOException e) {
            throw new IllegalStateException("in-memory PNG encoding failed", e);
        }
        return out.toByteArray();
    }

    /** Writes {@code image} as PNG to {@code out} (not closed). */
    public static void write(Image image, OutputStream out) throws IOException {
        out.write(SIGNATURE);
        byte[] ihdr = new byte[13];
        putInt(ihdr, 0, image.width());
        putInt(ihdr, 4, image.height());
        ihdr[8] = 8;                                        // bit depth
        ihdr[9] = (byte) (image.channels() == 1 ? 0 : 2);   // colour type: grayscale / truecolour
        // compression 0, filter method 0, interlace 0
        chunk(out, "IHDR", ihdr);
        chunk(out, "IDAT", compress(image));
        chunk(out, "IEND", new byte[0]);
    }

    /**
     * Writes {@code image} to {@code target} atomically: the bytes go to a temporary file in the same folder, which
     * is then renamed over the target, so a failure never leaves a partial PNG (and an existing file stays intact
     * until the new one is complete). The parent folder is created if needed.
     */
    public static void write(Image image, Path target) throws IOException {
        writeAtomically(target, encode(image));
    }

    /** Replaces {@code target} with {@code bytes} through a temporary file in the same folder and a rename. */
    static void writeAtomically(Path target, byte[] bytes) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir != null) Files.createDirectories(dir);
        Path tmp = dev.unet4j.core.io.TempPaths.createFile(dir, "." + abs.getFileName(), ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer b = ByteBuffer.wrap(bytes);
                while (b.hasRemaining()) ch.write(b);
                ch.force(true);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
            dev.unet4j.core.io.TempPaths.release(tmp);
        }
    }

    private static byte[] compress(Image image) throws IOException {
        int stride = image.width() * image.channels();
        byte[] px = image.pixels();
        ByteArrayOutputStream buf = new ByteArrayOutputStream(px.length / 4 + 64);
        Deflater deflater = new Deflater(Deflater.BEST_COMPRESSION);
        try (DeflaterOutputStream z = new DeflaterOutputStream(buf, deflater, 1 << 16)) {
            for (int y = 0; y < image.height(); y++) {
                z.write(0); // filter type None
                z.write(px, y * stride, stride);
            }
        } finally {
            deflater.end();
        }
        return buf.toByteArray();
    }

    private static void chunk(OutputStream out, String type, byte[] data) throws IOException {
        byte[] len = new byte[4];
        putInt(len, 0, data.length);
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        byte[] c = new byte[4];
        putInt(c, 0, (int) crc.getValue());
        out.write(len);
        out.write(t);
        out.write(data);
        out.write(c);
    }

    private static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }
}
