package dev.unet4j.text.nn;

import dev.unet4j.core.checkpoint.ConfigException;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Pass;

import java.util.Locale;

/** transformers' {@code ACT2FN} entries that CLIP text encoders use, computed through the kernels. */
public enum ClipActivation {
    /** {@code x * sigmoid(1.702 x)} (OpenAI CLIP, SD 1.x). */
    QUICK_GELU,
    /** exact {@code 0.5 x (1 + erf(x / sqrt 2))} (OpenCLIP ViT-H / bigG: SD 2.x, SDXL). */
    GELU,
    /** tanh approximation ({@code gelu_new}, {@code gelu_pytorch_tanh}). */
    GELU_TANH;

    private static final float QUICK_GELU_ALPHA = 1.702f;

    /** The activation named by {@code hidden_act}; {@code source} names the config in the error. */
    public static ClipActivation of(String name, String source) {
        if (name == null) throw new ConfigException("config " + source + ": hidden_act is null");
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "quick_gelu" -> QUICK_GELU;
            case "gelu" -> GELU;
            case "gelu_new", "gelu_pytorch_tanh" -> GELU_TANH;
            default -> throw new ConfigException("config " + source + ": hidden_act \"" + name
                    + "\" is not supported (supported: quick_gelu, gelu, gelu_new, gelu_pytorch_tanh)");
        };
    }

    /** {@code act(x)} as a new tensor. */
    public Tensor apply(Pass p, Tensor x) {
        return switch (this) {
            case GELU -> p.k.gelu(p.ws, x, true);
            case GELU_TANH -> p.k.gelu(p.ws, x, false);
            case QUICK_GELU -> p.k.swish(p.ws, x, QUICK_GELU_ALPHA);   // x sigmoid(1.702 x)
        };
    }
}
