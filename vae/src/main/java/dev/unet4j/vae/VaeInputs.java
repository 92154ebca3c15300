package dev.unet4j.vae;

import dev.unet4j.core.tensor.Tensor;

import java.nio.FloatBuffer;
import java.util.Arrays;

/** The checks every VAE applies to what it is given and to what it returns. */
final class VaeInputs {
    private VaeInputs() {
    }

    /** Latents {@code [B, latentChannels, h, w]}, all finite. */
    static void checkLatents(String model, Tensor z, int latentChannels) {
        String m = model + ".decode";
        if (z == null) throw new IllegalArgumentException(m + ": latents are null");
        if (z.rank() != 4) throw new IllegalArgumentException(m + ": latents must be [B, " + latentChannels + ", h, w], got " + z);
        if (z.dim(1) != latentChannels) {
            throw new IllegalArgumentException(m + ": latents have " + z.dim(1) + " channels, the VAE has " + latentChannels
                    + " latent_channels (got " + z + ")");
        }
        checkFinite(m + ": latents", z);
    }

    /** An image {@code [B, inChannels, H, W]} with H, W multiples of {@code f}, all finite. */
    static void checkImage(String model, Tensor x, int inChannels, int f) {
        String m = model + ".encode";
        if (x == null) throw new IllegalArgumentException(m + ": image is null");
        if (x.rank() != 4) throw new IllegalArgumentException(m + ": image must be [B, " + inChannels + ", H, W], got " + x);
        if (x.dim(1) != inChannels) {
            throw new IllegalArgumentException(m + ": image has " + x.dim(1) + " channels, the VAE takes " + inChannels
                    + " (in_channels; got " + x + ")");
        }
        if (x.dim(2) % f != 0 || x.dim(3) % f != 0) {
            throw new IllegalArgumentException(m + ": image size " + x.dim(2) + "x" + x.dim(3) + " is not a multiple of the VAE "
                    + "scale factor " + f + "; resize or crop it first (diffusers' image processor does)");
        }
        checkFinite(m + ": image", x);
    }

    /** Throws naming the first NaN or infinity of {@code t} and its index. */
    static void checkFinite(String what, Tensor t) {
        FloatBuffer fb = t.rawBuffer();
        if (t.isContiguous()) {
            for (int i = 0, n = fb.remaining(); i < n; i++) {
                if (!Float.isFinite(fb.get(i))) throw nonFinite(what, t, i, fb.get(i));
            }
            return;
        }
        float[] v = t.toFloatArray();
        for (int i = 0; i < v.length; i++) if (!Float.isFinite(v[i])) throw nonFinite(what, t, i, v[i]);
    }

    private static IllegalArgumentException nonFinite(String what, Tensor t, long flat, float v) {
        long[] s = t.shape(), idx = new long[s.length];
        for (int d = s.length - 1; d >= 0; d--) {
            idx[d] = flat % s[d];
            flat /= s[d];
        }
        return new IllegalArgumentException(what + " " + t + " holds " + v + " at " + Arrays.toString(idx));
    }

    /** {@code t} if finite; otherwise closes it and throws (inputs were checked, so weights or an overflow are the cause). */
    static Tensor checkedResult(String what, Tensor t) {
        try {
            checkFinite(what + " produced a non-finite value (the input was finite, so the weights or an overflow are the cause):", t);
            return t;
        } catch (IllegalArgumentException e) {
            t.close();
            throw new ArithmeticException(e.getMessage());
        }
    }
}
