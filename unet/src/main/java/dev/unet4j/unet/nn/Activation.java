package dev.unet4j.unet.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.UnsupportedConfigException;

/** diffusers' {@code get_activation} names that the kernels can compute. */
public enum Activation {
    SILU, GELU;

    /** {@code "silu"}/{@code "swish"} or {@code "gelu"} (exact erf GELU, as torch's nn.GELU). */
    public static Activation of(String name) {
        if (name == null) throw new UnsupportedConfigException("activation name is null");
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "silu", "swish" -> SILU;
            case "gelu" -> GELU;
            default -> throw new UnsupportedConfigException("activation \"" + name + "\" is not supported (supported: silu, swish, gelu)");
        };
    }

    /** {@code act(x)} as a new tensor. */
    public Tensor apply(Pass p, Tensor x) {
        return this == SILU ? p.k.silu(p.ws, x) : p.k.gelu(p.ws, x, true);
    }
}
