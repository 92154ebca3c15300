package dev.unet4j.core.image;

/**
 * Pillow's {@code Image.resize(size, Image.LANCZOS)} for 8-bit images, reproduced integer for integer (Pillow's
 * {@code Resample.c}): separable Lanczos-3 whose support widens by the scale when shrinking, coefficients
 * normalised per output pixel then turned into fixed point with 22 fraction bits, the horizontal pass first over
 * the rows the vertical pass needs, each pass rounding and clipping to 8 bits. diffusers'
 * {@code VaeImageProcessor.resize} calls exactly this.
 */
public final class LanczosResampler {
    private static final int PRECISION_BITS = 32 - 8 - 2;
    private static final double SUPPORT = 3.0;

    private LanczosResampler() {
    }

    /** {@code image} resized to {@code width} x {@code height} (the image itself when the size is unchanged). */
    public static Image resize(Image image, int width, int height) {
        if (width < 1 || height < 1) throw new IllegalArgumentException("target size must be positive, got " + width + "x" + height);
        if (width == image.width() && height == image.height()) return image;
        int c = image.channels();
        byte[] px = image.pixels();
        Coeffs vert = Coeffs.of(image.height(), height);
        int first = vert.bounds[0];
        int last = vert.bounds[2 * height - 2] + vert.bounds[2 * height - 1];
        int srcW = image.width();
        int rows = image.height();
        if (width != image.width()) {
            // horizontal pass over the rows the vertical pass reads
            Coeffs hor = Coeffs.of(image.width(), width);
            rows = last - first;
            byte[] tmp = new byte[width * rows * c];
            for (int y = 0; y < rows; y++) {
                int srcRow = (y + first) * srcW * c;
                for (int x = 0; x < width; x++) {
                    int xmin = hor.bounds[2 * x];
                    int n = hor.bounds[2 * x + 1];
                    int k0 = x * hor.ksize;
                    for (int ch = 0; ch < c; ch++) {
                        int ss = 1 << (PRECISION_BITS - 1);
                        for (int i = 0; i < n; i++) ss += (px[srcRow + (xmin + i) * c + ch] & 0xFF) * hor.k[k0 + i];
                        tmp[(y * width + x) * c + ch] = clip8(ss);
                    }
                }
            }
            px = tmp;
            srcW = width;
            for (int i = 0; i < height; i++) vert.bounds[2 * i] -= first;
        }
        if (height == image.height()) return new Image(width, height, c, px); // scale 1 vertically: all rows kept
        byte[] out = new byte[width * height * c];
        for (int y = 0; y < height; y++) {
            int ymin = vert.bounds[2 * y];
            int n = vert.bounds[2 * y + 1];
            int k0 = y * vert.ksize;
            for (int x = 0; x < width; x++) {
                for (int ch = 0; ch < c; ch++) {
                    int ss = 1 << (PRECISION_BITS - 1);
                    for (int i = 0; i < n; i++) ss += (px[((ymin + i) * srcW + x) * c + ch] & 0xFF) * vert.k[k0 + i];
                    out[(y * width + x) * c + ch] = clip8(ss);
                }
            }
        }
        return new Image(width, height, c, out);
    }

    private static byte clip8(int v) {
        if (v >= (1 << PRECISION_BITS << 8)) return (byte) 255;
        if (v <= 0) return 0;
        return (byte) (v >> PRECISION_BITS);
    }

    private static double sinc(double x) {
        if (x == 0.0) return 1.0;
        x = x * Math.PI;
        return Math.sin(x) / x;
    }

    private static double lanczos(double x) {
        return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0;
    }

    /** precompute_coeffs + normalize_coeffs_8bpc: per output pixel its first input, count, fixed-point weights. */
    private record Coeffs(int ksize, int[] bounds, int[] k) {
        static Coeffs of(int inSize, int outSize) {
            double scale = (double) ((float) inSize - 0f) / outSize;
            double filterscale = Math.max(scale, 1.0);
            double support = SUPPORT * filterscale;
            int ksize = (int) Math.ceil(support) * 2 + 1;
            int[] bounds = new int[outSize * 2];
            int[] k = new int[outSize * ksize];
            double[] w = new double[ksize];
            for (int xx = 0; xx < outSize; xx++) {
                double center = (xx + 0.5) * scale;
                double ss = 1.0 / filterscale;
                int xmin = Math.max((int) (center - support + 0.5), 0);
                int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
                double ww = 0.0;
                for (int x = 0; x < xmax; x++) {
                    w[x] = lanczos((x + xmin - center + 0.5) * ss);
                    ww += w[x];
                }
                for (int x = 0; x < xmax; x++) {
                    double v = ww != 0.0 ? w[x] / ww : w[x];
                    k[xx * ksize + x] = v < 0 ? (int) (-0.5 + v * (1 << PRECISION_BITS)) : (int) (0.5 + v * (1 << PRECISION_BITS));
                }
                bounds[2 * xx] = xmin;
                bounds[2 * xx + 1] = xmax;
            }
            return new Coeffs(ksize, bounds, k);
        }
    }
}
