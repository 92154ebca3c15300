package dev.unet4j.samplers;

import java.util.Arrays;

/** Imagen's dynamic thresholding as diffusers' {@code _threshold_sample}, per batch item, in float32. */
public final class Thresholding {
    private Thresholding() {
    }

    /** In place: per item, s = clamp(quantile(|x|, ratio), 1, maxValue); x = clamp(x, -s, s) / s. */
    public static void apply(Latents x0, double ratio, double maxValue) {
        int item = x0.itemSize();
        float[] d = x0.data();
        float[] abs = new float[item];
        for (int b = 0; b < x0.batch(); b++) {
            int off = b * item;
            for (int i = 0; i < item; i++) abs[i] = Math.abs(d[off + i]);
            Arrays.sort(abs);
            float s = quantileSorted(abs, (float) ratio);
            s = Math.max(1.0f, Math.min((float) maxValue, s));
            for (int i = 0; i < item; i++) d[off + i] = Math.max(-s, Math.min(s, d[off + i])) / s;
        }
    }

    /** torch.quantile, linear interpolation, float32 rank and torch.lerp's two-sided formula. */
    static float quantileSorted(float[] sorted, float q) {
        float rank = q * (sorted.length - 1);
        int below = (int) rank;
        int above = Math.min(below + 1, sorted.length - 1);
        float w = rank - below;
        float a = sorted[below];
        float b = sorted[above];
        return w < 0.5f ? a + w * (b - a) : b - (b - a) * (1 - w);
    }
}
