package dev.unet4j.quantization.nn;

import dev.unet4j.quantization.activation.ActivationQuantParams;
import dev.unet4j.quantization.activation.ActivationScheme;
import dev.unet4j.quantization.activation.ActivationSite;
import dev.unet4j.quantization.activation.StaticActivationScales;

/**
 * How the inputs of W8A8 layers are quantized to s8: per tensor, symmetric, with a dynamic scale
 * {@code max|x| / 127} measured on every call ({@link #DYNAMIC}), or with the static scale a calibration run found
 * for the layer's input ({@link #calibrated}). Layers without a calibrated scale fall back to the dynamic one.
 *
 * @param scales calibrated scales by layer input site, or null for dynamic scales everywhere
 */
public record Int8Activations(StaticActivationScales scales) {
    public static final Int8Activations DYNAMIC = new Int8Activations(null);

    /** Static scales from a calibration with {@link ActivationScheme#SYMMETRIC_S8} (the int8 kernels have no zero point). */
    public static Int8Activations calibrated(StaticActivationScales scales) {
        if (scales == null) throw new IllegalArgumentException("calibrated int8 activations need scales; use DYNAMIC for none");
        scales.asMap().forEach((site, p) -> {
            if (p.scheme() != ActivationScheme.SYMMETRIC_S8 || p.zeroPoint() != 0) {
                throw new IllegalArgumentException("W8A8 layers take symmetric s8 activation scales, but " + site + " was calibrated as "
                        + p.scheme() + " with zero point " + p.zeroPoint() + "; calibrate with ActivationScheme.SYMMETRIC_S8");
            }
        });
        return new Int8Activations(scales);
    }

    /** The static scale of the input of the layer at {@code path}, or 0 for a dynamic per-call scale. */
    float scaleFor(String path) {
        if (scales == null) return 0f;
        ActivationQuantParams p = scales.asMap().get(ActivationSite.input(path));
        return p == null ? 0f : p.scale();
    }
}
