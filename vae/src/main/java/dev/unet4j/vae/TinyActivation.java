package dev.unet4j.vae;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.UnsupportedConfigException;
import dev.unet4j.unet.nn.Pass;

import java.nio.FloatBuffer;
import java.util.Locale;

/** The activations diffusers' {@code get_activation} gives AutoencoderTiny: ReLU (TAESD's), SiLU, GELU. */
enum TinyActivation {
    RELU, SILU, GELU;

    static TinyActivation of(String name) {
        if (name == null) throw new UnsupportedConfigException("act_fn is null");
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "relu" -> RELU;
            case "silu", "swish" -> SILU;
            case "gelu" -> GELU;
            default -> throw new UnsupportedConfigException("act_fn \"" + name + "\" is not supported (relu, silu, swish, gelu)");
        };
    }

    /** {@code act(x)}, consuming {@code x} (owned by the pass): ReLU in place, the others into a new tensor. */
    Tensor applyConsuming(Pass p, Tensor x) {
        if (this == RELU) {
            relu(x);
            return x;
        }
        try {
            return this == SILU ? p.k.silu(p.ws, x) : p.k.gelu(p.ws, x, true);
        } finally {
            p.release(x);
        }
    }

    /**
     * {@code max(x, 0)} in place. The kernels have no ReLU; kernel results are dense (contiguous or channels-last), so
     * the buffer span is exactly the elements.
     */
    static void relu(Tensor x) {
        FloatBuffer fb = x.rawBuffer();
        if (fb.remaining() == x.numel()) {
            for (int i = 0, n = fb.remaining(); i < n; i++) {
                if (!(fb.get(i) >= 0f)) fb.put(i, fb.get(i) < 0f ? 0f : fb.get(i)); // keeps NaN, as torch's relu
            }
            return;
        }
        float[] v = x.toFloatArray();
        for (int i = 0; i < v.length; i++) if (v[i] < 0f) v[i] = 0f;
        x.setFrom(v);
    }
}
