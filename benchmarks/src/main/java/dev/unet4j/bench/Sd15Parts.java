package dev.unet4j.bench;

import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.text.ClipTextConfig;
import dev.unet4j.text.ClipTextModel;
import dev.unet4j.unet.LayerFactory;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.RandomParameterSource;
import dev.unet4j.vae.AutoencoderKL;
import dev.unet4j.vae.AutoencoderKLConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.SplittableRandom;

/**
 * The Stable Diffusion 1.5 text encoder and VAE (their published {@code config.json}: CLIP ViT-L/14's text tower,
 * 123.06M parameters, and the KL VAE, 83.65M) with seeded random weights made in-process, and their seeded inputs: a
 * prompt batch {@code [uncond; cond]} of 77 token ids each and Gaussian latents. The UNet is {@link UNetForwardCases}.
 */
final class Sd15Parts {
    static final long SEED = 1234;
    static final String TOKEN_TABLE = "text_model.embeddings.token_embedding.weight";
    static final String POSITION_TABLE = "text_model.embeddings.position_embedding.weight";
    /** CLIP's {@code <|startoftext|>} and {@code <|endoftext|>} (SD 1.x pads with the latter). */
    static final int BOS = 49406, EOS = 49407;

    static final String TEXT_CONFIG = """
            {"architectures": ["CLIPTextModel"], "attention_dropout": 0.0, "bos_token_id": 0, "eos_token_id": 2,
             "hidden_act": "quick_gelu", "hidden_size": 768, "initializer_factor": 1.0, "initializer_range": 0.02,
             "intermediate_size": 3072, "layer_norm_eps": 1e-05, "max_position_embeddings": 77,
             "model_type": "clip_text_model", "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 1,
             "projection_dim": 768, "vocab_size": 49408}""";

    static final String VAE_CONFIG = """
            {"_class_name": "AutoencoderKL", "act_fn": "silu", "block_out_channels": [128, 256, 512, 512],
             "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
             "in_channels": 3, "latent_channels": 4, "layers_per_block": 2, "norm_num_groups": 32, "out_channels": 3,
             "sample_size": 512, "scaling_factor": 0.18215,
             "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]}""";

    private Sd15Parts() {
    }

    static RandomParameterSource weights() {
        return new RandomParameterSource(SEED);
    }

    static ClipTextModel textEncoder(Kernels kernels) {
        try {
            ClipTextConfig c = ClipTextConfig.of(DiffusersConfig.parse(TEXT_CONFIG, "SD 1.5 text_encoder"));
            return ClipTextModel.build(c, weights(), "random SD 1.5 text encoder", LoadOptions.of(kernels));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static AutoencoderKL vae(Kernels kernels) {
        return vae(LoadOptions.of(kernels));
    }

    /**
     * The VAE with diffusers' own op sequence (its upsamplers as nearest 2x + 3x3 conv, not unet4j's sub-pixel
     * rewrite): the graph an ONNX export of diffusers' model has, for ONNX Runtime's twin.
     */
    static AutoencoderKL vaeAsPublished(Kernels kernels) {
        LayerFactory plain = LayerFactory.of(kernels);
        return vae(LoadOptions.of(kernels).withLayerFactory(new LayerFactory() {
            @Override
            public Conv2d conv2d(String path, Conv2dSpec spec, Tensor weight, Tensor bias) {
                return plain.conv2d(path, spec, weight, bias);
            }

            @Override
            public Linear linear(String path, Tensor weight, Tensor bias) {
                return plain.linear(path, weight, bias);
            }

            @Override
            public boolean subpixelUpsamplers() {
                return false;
            }
        }));
    }

    private static AutoencoderKL vae(LoadOptions options) {
        try {
            AutoencoderKLConfig c = AutoencoderKLConfig.parse(VAE_CONFIG, "SD 1.5 vae");
            return AutoencoderKL.build(c, weights(), "random SD 1.5 vae", options);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The embedding table {@code name} of the text encoder, as the model got it ({@code [rows, 768]}). */
    static Tensor textTable(String name, long rows) {
        return weights().load(name, new long[]{rows, 768});
    }

    /**
     * {@code [uncond; cond]}: the empty prompt ({@code BOS EOS} padded with EOS) and a 14-token prompt of seeded ids,
     * as diffusers' {@code encode_prompt} tokenizes them for SD 1.x.
     */
    static int[][] promptIds() {
        int[][] ids = new int[2][77];
        java.util.Arrays.fill(ids[0], EOS);
        java.util.Arrays.fill(ids[1], EOS);
        ids[0][0] = BOS;
        ids[1][0] = BOS;
        SplittableRandom r = new SplittableRandom(77);
        for (int j = 1; j <= 14; j++) ids[1][j] = r.nextInt(BOS);
        return ids;
    }

    /** Seeded N(0, 1) latents {@code [1, 4, size, size]} on the VAE's own scale (what a decode gets after unscaling). */
    static Tensor latents(int size) {
        SplittableRandom r = new SplittableRandom(4);
        float[] v = new float[4 * size * size];
        for (int i = 0; i < v.length; i++) v[i] = (float) (Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble()));
        return Tensor.of(v, 1, 4, size, size);
    }
}
