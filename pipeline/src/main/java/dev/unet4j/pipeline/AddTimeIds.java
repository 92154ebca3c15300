package dev.unet4j.pipeline;

import dev.unet4j.unet.config.UNet2DConditionConfig;

/**
 * SDXL's micro-conditioning {@code add_time_ids} (diffusers' {@code _get_add_time_ids}) for an image of {@code h x w}
 * with original size = target size = the image's and crop (0, 0):
 * {@code [h, w, 0, 0, h, w]} for both the prompt and the negative prompt, or, for pipelines whose
 * {@code model_index.json} sets {@code requires_aesthetics_score} (the refiner and its img2img/inpaint folders),
 * {@code [h, w, 0, 0, aesthetic_score]} and {@code [h, w, 0, 0, negative_aesthetic_score]}.
 *
 * @param positive the prompt's ids
 * @param negative the negative prompt's ids
 */
record AddTimeIds(float[] positive, float[] negative) {

    static AddTimeIds of(boolean requiresAestheticsScore, int h, int w, double aestheticScore, double negativeAestheticScore) {
        if (requiresAestheticsScore) {
            return new AddTimeIds(new float[] {h, w, 0, 0, (float) aestheticScore}, new float[] {h, w, 0, 0, (float) negativeAestheticScore});
        }
        float[] ids = {h, w, 0, 0, h, w};
        return new AddTimeIds(ids, ids);
    }

    /**
     * diffusers' check that {@code addition_time_embed_dim * len(add_time_ids) + pooled} is the UNet's
     * {@code projection_class_embeddings_input_dim}, with its hint about {@code requires_aesthetics_score}.
     */
    void requireFits(UNet2DConditionConfig unet, int pooledDim, boolean requiresAestheticsScore, String folder) {
        Integer perId = unet.additionTimeEmbedDim(), expected = unet.projectionClassEmbeddingsInputDim();
        if (perId == null || expected == null) {
            throw new IllegalArgumentException(folder + ": the UNet has no text_time add_embedding (addition_time_embed_dim and "
                    + "projection_class_embeddings_input_dim), which SDXL pipelines need");
        }
        int passed = perId * positive.length + pooledDim;
        if (passed == expected) return;
        String hint = requiresAestheticsScore && passed + perId == expected
                ? "; set requires_aesthetics_score to false in model_index.json (this UNet takes original size, crop and target size)"
                : !requiresAestheticsScore && passed - perId == expected
                ? "; set requires_aesthetics_score to true in model_index.json (this UNet takes an aesthetic score)" : "";
        throw new IllegalArgumentException(folder + ": the UNet's add_embedding takes " + expected + " inputs but "
                + positive.length + " add_time_ids x addition_time_embed_dim " + perId + " + " + pooledDim + " pooled = " + passed + hint);
    }
}
