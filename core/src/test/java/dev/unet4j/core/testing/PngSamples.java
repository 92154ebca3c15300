package dev.unet4j.core.testing;

import dev.unet4j.core.image.Image;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageOutputStream;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;

/**
 * PNG files of every colour type, bit depth and interlacing written by the JDK's own codec, and the pixels the JDK
 * reads back from PNG bytes: the independent truth for {@code PngReader} tests and the seeds of PNG fuzzing.
 */
public final class PngSamples {
    private PngSamples() {
    }

    /** One encoded PNG and what it holds. */
    public record Sample(String name, byte[] png) {
    }

    /** Encodes {@code img} with ImageIO's PNG writer, Adam7-interlaced when asked. */
    public static byte[] encode(BufferedImage img, boolean interlace) throws IOException {
        ImageWriter w = ImageIO.getImageWritersByFormatName("png").next();
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (ImageOutputStream out = ImageIO.createImageOutputStream(bos)) {
            w.setOutput(out);
            ImageWriteParam p = w.getDefaultWriteParam();
            IIOMetadata meta = w.getDefaultImageMetadata(new ImageTypeSpecifier(img), p);
            if (interlace) {
                IIOMetadataNode root = (IIOMetadataNode) meta.getAsTree("javax_imageio_png_1.0");
                IIOMetadataNode ihdr = (IIOMetadataNode) root.getElementsByTagName("IHDR").item(0);
                ihdr.setAttribute("interlaceMethod", "adam7");
                meta.setFromTree("javax_imageio_png_1.0", root);
            }
            w.write(null, new IIOImage(img, null, meta), p);
        } finally {
            w.dispose();
        }
        return bos.toByteArray();
    }

    /** An image of {@code type} filled with random samples. */
    public static BufferedImage random(int w, int h, int type, Random rnd) {
        return fill(new BufferedImage(w, h, type), rnd);
    }

    private static BufferedImage fill(BufferedImage img, Random rnd) {
        WritableRaster r = img.getRaster();
        int max = (1 << r.getSampleModel().getSampleSize(0)) - 1;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                for (int b = 0; b < r.getNumBands(); b++) r.setSample(x, y, b, rnd.nextInt(max + 1));
            }
        }
        return img;
    }

    /** A component image of {@code bands} bands (grey, grey+alpha, RGB, RGBA) at 8 or 16 bits. */
    private static BufferedImage component(int w, int h, int bands, int bits, Random rnd) {
        boolean grey = bands <= 2;
        boolean alpha = bands == 2 || bands == 4;
        int dataType = bits == 16 ? DataBuffer.TYPE_USHORT : DataBuffer.TYPE_BYTE;
        int[] sizes = new int[bands];
        java.util.Arrays.fill(sizes, bits);
        ColorModel cm = new ComponentColorModel(ColorSpace.getInstance(grey ? ColorSpace.CS_GRAY : ColorSpace.CS_sRGB),
                sizes, alpha, false, alpha ? Transparency.TRANSLUCENT : Transparency.OPAQUE, dataType);
        return fill(new BufferedImage(cm, cm.createCompatibleWritableRaster(w, h), false, null), rnd);
    }

    private static BufferedImage palette(int w, int h, int bits, boolean alpha, Random rnd) {
        int n = 1 << bits;
        byte[] r = new byte[n], g = new byte[n], b = new byte[n], a = new byte[n];
        rnd.nextBytes(r);
        rnd.nextBytes(g);
        rnd.nextBytes(b);
        rnd.nextBytes(a);
        IndexColorModel cm = alpha ? new IndexColorModel(bits, n, r, g, b, a) : new IndexColorModel(bits, n, r, g, b);
        int type = bits == 8 ? BufferedImage.TYPE_BYTE_INDEXED : BufferedImage.TYPE_BYTE_BINARY;
        return fill(new BufferedImage(w, h, type, cm), rnd);
    }

    /**
     * Every kind of PNG a user may upload, each plain and interlaced, at odd sizes (so Adam7 passes are partial):
     * RGB and RGBA at 8 and 16 bits, greyscale and greyscale+alpha at 8 and 16 bits, greyscale at 1, 2 and 4 bits,
     * palettes of 1, 2, 4 and 8 bits with and without transparency.
     */
    public static List<Sample> all(Random rnd) throws IOException {
        List<Sample> out = new ArrayList<>();
        for (boolean interlace : new boolean[] {false, true}) {
            String il = interlace ? " interlaced" : "";
            int w = 5 + rnd.nextInt(12);
            int h = 3 + rnd.nextInt(10);
            for (int bits : new int[] {8, 16}) {
                out.add(new Sample("rgb" + bits + il, encode(component(w, h, 3, bits, rnd), interlace)));
                out.add(new Sample("rgba" + bits + il, encode(component(w, h, 4, bits, rnd), interlace)));
                out.add(new Sample("grey" + bits + il, encode(component(w, h, 1, bits, rnd), interlace)));
                out.add(new Sample("grey+alpha" + bits + il, encode(component(w, h, 2, bits, rnd), interlace)));
            }
            for (int bits : new int[] {1, 2, 4}) {
                byte[] ramp = new byte[1 << bits];
                for (int i = 0; i < ramp.length; i++) ramp[i] = (byte) (i * 255 / (ramp.length - 1));
                IndexColorModel grey = new IndexColorModel(bits, ramp.length, ramp, ramp, ramp); // written as greyscale
                out.add(new Sample("grey" + bits + il, encode(fill(new BufferedImage(w, h, BufferedImage.TYPE_BYTE_BINARY, grey), rnd), interlace)));
            }
            for (int bits : new int[] {1, 2, 4, 8}) {
                out.add(new Sample("palette" + bits + il, encode(palette(w, h, bits, false, rnd), interlace)));
                out.add(new Sample("palette" + bits + "+alpha" + il, encode(palette(w, h, bits, true, rnd), interlace)));
            }
        }
        return out;
    }

    /**
     * The pixels ImageIO reads from {@code png}, in PngReader's documented form: 8-bit, greyscale (with or without
     * alpha) as one channel, everything else as RGB, alpha dropped, 16-bit samples as their high byte, low-depth grey
     * scaled to 0-255, palettes expanded. {@code null} where ImageIO cannot decode the bytes.
     */
    public static Image imageIoPixels(byte[] png) {
        BufferedImage img;
        try {
            img = ImageIO.read(new ByteArrayInputStream(png));
        } catch (IOException | RuntimeException e) {
            return null;
        }
        if (img == null) return null;
        ColorModel cm = img.getColorModel();
        Raster r = img.getRaster();
        int w = img.getWidth();
        int h = img.getHeight();
        boolean indexed = cm instanceof IndexColorModel;
        boolean greyIndex = indexed && isGreyRamp((IndexColorModel) cm);
        boolean grey = greyIndex || (!indexed && cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY);
        int channels = grey ? 1 : 3;
        int bits = r.getSampleModel().getSampleSize(0);
        byte[] px = new byte[w * h * channels];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int at = (y * w + x) * channels;
                if (indexed) {
                    int i = r.getSample(x, y, 0);
                    IndexColorModel icm = (IndexColorModel) cm;
                    px[at] = (byte) icm.getRed(i);
                    if (channels == 3) {
                        px[at + 1] = (byte) icm.getGreen(i);
                        px[at + 2] = (byte) icm.getBlue(i);
                    }
                } else {
                    for (int c = 0; c < channels; c++) {
                        int v = r.getSample(x, y, c);
                        px[at + c] = (byte) (bits == 16 ? v >>> 8 : bits < 8 ? v * 255 / ((1 << bits) - 1) : v);
                    }
                }
            }
        }
        return new Image(w, h, channels, px);
    }

    /** ImageIO reads 1-, 2- and 4-bit greyscale PNGs as an indexed image whose palette is the grey ramp. */
    private static boolean isGreyRamp(IndexColorModel cm) {
        int n = cm.getMapSize();
        if (n > 16 || cm.hasAlpha()) return false;
        for (int i = 0; i < n; i++) {
            int v = i * 255 / (n - 1);
            if (cm.getRed(i) != v || cm.getGreen(i) != v || cm.getBlue(i) != v) return false;
        }
        return true;
    }

    /** Rewrites every chunk's CRC so that a mutation inside a chunk reaches the decoder past the CRC check. */
    public static void fixCrcs(byte[] png) {
        int pos = 8;
        while (pos + 12 <= png.length) {
            long len = readInt(png, pos) & 0xFFFFFFFFL;
            if (len > png.length - pos - 12L) return;
            CRC32 crc = new CRC32();
            crc.update(png, pos + 4, 4 + (int) len);
            putInt(png, pos + 8 + (int) len, (int) crc.getValue());
            pos += 12 + (int) len;
        }
    }

    public static int readInt(byte[] b, int at) {
        return ((b[at] & 0xFF) << 24) | ((b[at + 1] & 0xFF) << 16) | ((b[at + 2] & 0xFF) << 8) | (b[at + 3] & 0xFF);
    }

    public static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }
}
