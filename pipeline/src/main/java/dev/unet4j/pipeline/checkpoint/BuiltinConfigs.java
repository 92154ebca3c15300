package dev.unet4j.pipeline.checkpoint;

/**
 * The component configs of each detected {@link LdmModelType}, written out here (never downloaded): the
 * {@code config.json} files of the diffusers repositories diffusers 0.31's {@code from_single_file} falls back to for
 * that type ({@code DIFFUSERS_DEFAULT_PIPELINE_PATHS}): v1 {@code stable-diffusion-v1-5}, v2
 * {@code stabilityai/stable-diffusion-2-1} (768 px, v-prediction), inpainting {@code stable-diffusion-inpainting},
 * inpainting_v2 {@code stabilityai/stable-diffusion-2-inpainting}, xl_base {@code stable-diffusion-xl-base-1.0}.
 * Keys left out take the configs' documented defaults.
 *
 * @param unet         UNet2DConditionModel config
 * @param vae          AutoencoderKL config
 * @param textEncoder  CLIPTextModel config
 * @param textEncoder2 SDXL's CLIPTextModelWithProjection (OpenCLIP bigG) config, null for SD 1.x/2.x
 * @param scheduler    scheduler config
 */
public record BuiltinConfigs(String unet, String vae, String textEncoder, String textEncoder2, String scheduler) {

    private static final String SD_VAE = """
            {"_class_name": "AutoencoderKL", "in_channels": 3, "out_channels": 3, "latent_channels": 4,
             "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
             "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"],
             "block_out_channels": [128, 256, 512, 512], "layers_per_block": 2, "act_fn": "silu",
             "norm_num_groups": 32, "sample_size": %d, "scaling_factor": %s}""";

    private static final String SD_UNET = """
            {"_class_name": "UNet2DConditionModel", "sample_size": %d, "in_channels": %d, "out_channels": 4,
             "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
             "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
             "block_out_channels": [320, 640, 1280, 1280], "layers_per_block": 2, "act_fn": "silu",
             "norm_num_groups": 32, "norm_eps": 1e-05, "flip_sin_to_cos": true, "freq_shift": 0,
             "downsample_padding": 1, "mid_block_scale_factor": 1, "center_input_sample": false,
             "cross_attention_dim": %d, "attention_head_dim": %s, "use_linear_projection": %s}""";

    private static final String CLIP_L = """
            {"architectures": ["CLIPTextModel"], "vocab_size": 49408, "hidden_size": 768, "intermediate_size": 3072,
             "num_hidden_layers": 12, "num_attention_heads": 12, "max_position_embeddings": 77,
             "hidden_act": "quick_gelu", "layer_norm_eps": 1e-05, "projection_dim": 768,
             "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1}""";

    private static final String OPEN_CLIP_H = """
            {"architectures": ["CLIPTextModel"], "vocab_size": 49408, "hidden_size": 1024, "intermediate_size": 4096,
             "num_hidden_layers": 23, "num_attention_heads": 16, "max_position_embeddings": 77,
             "hidden_act": "gelu", "layer_norm_eps": 1e-05, "projection_dim": 512,
             "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1}""";

    /** stable-diffusion-xl-base-1.0's text_encoder_2 (OpenCLIP ViT-bigG/14 as CLIPTextModelWithProjection). */
    private static final String OPEN_CLIP_BIG_G = """
            {"architectures": ["CLIPTextModelWithProjection"], "vocab_size": 49408, "hidden_size": 1280, "intermediate_size": 5120,
             "num_hidden_layers": 32, "num_attention_heads": 20, "max_position_embeddings": 77,
             "hidden_act": "gelu", "layer_norm_eps": 1e-05, "projection_dim": 1280,
             "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1}""";

    private static final String SCHEDULER = """
            {"_class_name": "%s", "num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012,
             "beta_schedule": "scaled_linear", "clip_sample": false, "set_alpha_to_one": false, "skip_prk_steps": true,
             "steps_offset": 1, "prediction_type": "%s", "timestep_spacing": "leading"}""";

    /** The configs of {@code type}. */
    public static BuiltinConfigs of(LdmModelType type) {
        return switch (type) {
            case V1 -> new BuiltinConfigs(SD_UNET.formatted(64, 4, 768, "8", "false"), SD_VAE.formatted(512, "0.18215"),
                    CLIP_L, null, SCHEDULER.formatted("PNDMScheduler", "epsilon"));
            case INPAINTING -> new BuiltinConfigs(SD_UNET.formatted(64, 9, 768, "8", "false"), SD_VAE.formatted(512, "0.18215"),
                    CLIP_L, null, SCHEDULER.formatted("DDIMScheduler", "epsilon"));
            case V2 -> new BuiltinConfigs(SD_UNET.formatted(96, 4, 1024, "[5, 10, 20, 20]", "true"),
                    SD_VAE.formatted(768, "0.18215"), OPEN_CLIP_H, null, SCHEDULER.formatted("DDIMScheduler", "v_prediction"));
            case INPAINTING_V2 -> new BuiltinConfigs(SD_UNET.formatted(64, 9, 1024, "[5, 10, 20, 20]", "true"),
                    SD_VAE.formatted(512, "0.18215"), OPEN_CLIP_H, null, SCHEDULER.formatted("DDIMScheduler", "epsilon"));
            case XL_BASE -> new BuiltinConfigs("""
                    {"_class_name": "UNet2DConditionModel", "sample_size": 128, "in_channels": 4, "out_channels": 4,
                     "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
                     "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
                     "block_out_channels": [320, 640, 1280], "layers_per_block": 2, "act_fn": "silu",
                     "norm_num_groups": 32, "norm_eps": 1e-05, "flip_sin_to_cos": true, "freq_shift": 0,
                     "cross_attention_dim": 2048, "attention_head_dim": [5, 10, 20], "use_linear_projection": true,
                     "transformer_layers_per_block": [1, 2, 10], "addition_embed_type": "text_time",
                     "addition_time_embed_dim": 256, "projection_class_embeddings_input_dim": 2816}""",
                    SD_VAE.formatted(1024, "0.13025"), CLIP_L, OPEN_CLIP_BIG_G, SCHEDULER.formatted("EulerDiscreteScheduler", "epsilon"));
            case XL_REFINER, XL_INPAINT -> throw new UnsupportedOperationException(type.diffusersName()
                    + " single files are not supported (no built-in config); give a config folder");
        };
    }
}
