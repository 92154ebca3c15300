package dev.unet4j.pipeline.checkpoint;

import java.util.Set;
import java.util.function.Function;

/**
 * The architecture of a single file, detected from its keys and shapes as diffusers 0.31's
 * {@code infer_diffusers_model_type} does: {@code conv_in} with 9 input channels is an inpainting model (v1, v2 or
 * SDXL); a 1024-wide cross-attention key {@code input_blocks.2.1...attn2.to_k} is SD 2.x; an OpenCLIP second embedder
 * ({@code conditioner.embedders.1.model...}) is SDXL base, an OpenCLIP first embedder the SDXL refiner; anything else
 * is SD 1.x. A tiny or unusual model is detected as its nearest family; its real sizes come from a config folder. So
 * that a tiny SDXL file (fewer than the 10 OpenCLIP resblocks diffusers' key needs) is not taken for SD 1.x, any
 * {@code conditioner.embedders.1.model.*} key counts as SDXL base, as the {@code conditioner} layout exists only there.
 */
public enum LdmModelType {
    V1("v1", false),
    V2("v2", false),
    INPAINTING("inpainting", false),
    INPAINTING_V2("inpainting_v2", false),
    XL_BASE("xl_base", true),
    XL_REFINER("xl_refiner", true),
    XL_INPAINT("xl_inpaint", true);

    static final String CONV_IN = "model.diffusion_model.input_blocks.0.0.weight";
    static final String V2_KEY = "model.diffusion_model.input_blocks.2.1.transformer_blocks.0.attn2.to_k.weight";
    static final String XL_BASE_KEY = "conditioner.embedders.1.model.transformer.resblocks.9.mlp.c_proj.bias";
    static final String XL_REFINER_KEY = "conditioner.embedders.0.model.transformer.resblocks.9.mlp.c_proj.bias";
    static final String XL_OPEN_CLIP_PREFIX = "conditioner.embedders.1.model.";

    private final String diffusersName;
    private final boolean xl;

    LdmModelType(String diffusersName, boolean xl) {
        this.diffusersName = diffusersName;
        this.xl = xl;
    }

    /** diffusers' name of the type ({@code v1}, {@code xl_base}, ...). */
    public String diffusersName() {
        return diffusersName;
    }

    /** An SDXL family checkpoint (two text encoders under {@code conditioner.embedders}). */
    public boolean xl() {
        return xl;
    }

    /** {@code shapeOf} gives a stored tensor's shape. */
    public static LdmModelType detect(Set<String> keys, Function<String, long[]> shapeOf) {
        boolean v2 = keys.contains(V2_KEY) && last(shapeOf.apply(V2_KEY)) == 1024;
        boolean xlBase = keys.contains(XL_BASE_KEY) || keys.stream().anyMatch(k -> k.startsWith(XL_OPEN_CLIP_PREFIX));
        if (keys.contains(CONV_IN)) {
            long[] s = shapeOf.apply(CONV_IN);
            if (s.length > 1 && s[1] == 9) {
                if (v2) return INPAINTING_V2;
                if (xlBase) return XL_INPAINT;
                return INPAINTING;
            }
        }
        if (v2) return V2;
        if (xlBase) return XL_BASE;
        if (keys.contains(XL_REFINER_KEY)) return XL_REFINER;
        return V1;
    }

    private static long last(long[] s) {
        return s == null || s.length == 0 ? -1 : s[s.length - 1];
    }
}
