package dev.unet4j.zoo;

/**
 * How closely a model's logits follow reference logits (e.g. an int8 model against float32): the largest absolute
 * difference relative to the largest reference magnitude, and the Dice coefficient (Dice 1945) of the masks thresholded
 * at logit 0, {@code 2 |A ∩ B| / (|A| + |B|)} (1 when both masks are empty).
 *
 * @param relativeMaxDelta {@code max|ref - got| / max|ref|}
 * @param dice             Dice overlap of {@code ref > 0} and {@code got > 0}
 */
public record MaskAgreement(double relativeMaxDelta, double dice) {
    /** The agreement of {@code got} with {@code ref} (same length, same element order). */
    public static MaskAgreement of(float[] ref, float[] got) {
        if (ref.length != got.length) throw new IllegalArgumentException("logits of " + ref.length + " and " + got.length + " values");
        double maxRef = 0, maxDiff = 0;
        long both = 0, a = 0, b = 0;
        for (int i = 0; i < ref.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(ref[i]));
            maxDiff = Math.max(maxDiff, Math.abs(ref[i] - got[i]));
            boolean r = ref[i] > 0, g = got[i] > 0;
            if (r) a++;
            if (g) b++;
            if (r && g) both++;
        }
        return new MaskAgreement(maxDiff / maxRef, a + b == 0 ? 1 : 2.0 * both / (a + b));
    }
}
