package dev.unet4j.unet;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.config.UNet2DConditionConfig;
import dev.unet4j.unet.config.UNet2DConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Configurations beyond the fixtures, with seeded random weights: each runs on the reference and the oneDNN backend,
 * which must agree, with the output shape and the built layer tables diffusers' constructor gives.
 */
class ConfigVariantsTest {
    static final ReferenceKernels REF = new ReferenceKernels();
    static DnnlKernels dnnl;

    @BeforeAll
    static void open() {
        dnnl = new DnnlKernels();
    }

    @AfterAll
    static void close() {
        dnnl.close();
    }

    /** Runs {@code in} on both backends, asserts they agree and returns the attention table. */
    private static Map<String, AttentionInfo> runBoth(Function<Kernels, UNetModel> build, UNetInputs in, long[] outShape) {
        try (UNetModel a = build.apply(REF); UNetModel b = build.apply(dnnl);
             UNetSession sa = a.newSession(); UNetSession sb = b.newSession();
             Tensor ya = sa.forward(in); Tensor yb = sb.forward(in)) {
            assertArrayEquals(outShape, ya.shape());
            Fixture.assertClose("reference vs oneDNN", ya, yb);
            float[] v = ya.toFloatArray();
            double max = 0;
            for (float x : v) max = Math.max(max, Math.abs(x));
            assertTrue(max > 1e-3 && Double.isFinite(max), "degenerate output, max|y| = " + max);
            return a.attentionModules().stream().collect(Collectors.toMap(AttentionInfo::path, x -> x));
        }
    }

    private static UNet2DModel unet2d(String json, Kernels k) {
        return UNet2DModel.build(UNet2DConfig.fromJson(json), new RandomParameterSource(7), "random", LoadOptions.of(k));
    }

    private static UNet2DConditionModel cond(String json, Kernels k) {
        return UNet2DConditionModel.build(UNet2DConditionConfig.fromJson(json), new RandomParameterSource(11), "random", LoadOptions.of(k));
    }

    @Test
    void unet2dScaleShiftClassTableFourierResnetResamplingCentered() {
        String json = """
                {"block_out_channels": [16, 32], "down_block_types": ["AttnDownBlock2D", "AttnDownBlock2D"],
                 "up_block_types": ["AttnUpBlock2D", "AttnUpBlock2D"], "layers_per_block": 1, "norm_num_groups": 4,
                 "resnet_time_scale_shift": "scale_shift", "num_class_embeds": 10, "time_embedding_type": "fourier",
                 "downsample_type": "resnet", "upsample_type": "resnet", "center_input_sample": true,
                 "attention_head_dim": 8, "mid_block_scale_factor": 1.4142135, "in_channels": 3, "out_channels": 3}""";
        try (Tensor x = SessionTest.random(2, 3, 8, 8); Tensor labels = Tensor.of(new float[]{3, 9}, 2)) {
            UNetInputs in = UNetInputs.builder(x, Timestep.float32(0.5f, 20f)).classLabels(labels).build();
            Map<String, AttentionInfo> at = runBoth(k -> unet2d(json, k), in, new long[]{2, 3, 8, 8});
            assertEquals(4, at.get("down_blocks.1.attentions.0").heads(), "32 channels / head dim 8");
            assertEquals(0, at.get("mid_block.attentions.0").groupNormGroups(), "scale_shift + attn_norm_num_groups null: no mid norm");
            assertEquals(1.4142135, at.get("mid_block.attentions.0").rescaleOutputFactor(), 1e-7);
            assertEquals(4, at.get("up_blocks.0.attentions.1").groupNormGroups(), "AttnUp uses norm_num_groups");
            try (UNetModel m = unet2d(json, REF); UNetSession s = m.newSession()) {
                IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                        () -> s.forward(UNetInputs.builder(x, Timestep.float32(1f)).build()));
                assertTrue(e.getMessage().contains("class_labels are required"), e.getMessage());
            }
        }
    }

    @Test
    void unet2dTimestepAndIdentityClassEmbeddingsWithGelu() {
        String timestep = """
                {"block_out_channels": [16, 16], "down_block_types": ["DownBlock2D", "AttnDownBlock2D"],
                 "up_block_types": ["AttnUpBlock2D", "UpBlock2D"], "layers_per_block": 1, "norm_num_groups": 4,
                 "class_embed_type": "timestep", "act_fn": "gelu", "attention_head_dim": null, "add_attention": false}""";
        try (Tensor x = SessionTest.random(2, 3, 8, 8); Tensor labels = Tensor.of(new float[]{3, 900}, 2)) {
            Map<String, AttentionInfo> at = runBoth(k -> unet2d(timestep, k),
                    UNetInputs.builder(x, Timestep.int64(5)).classLabels(labels).build(), new long[]{2, 3, 8, 8});
            assertFalse(at.containsKey("mid_block.attentions.0"), "add_attention false");
            assertEquals(1, at.get("down_blocks.1.attentions.0").heads(), "attention_head_dim null: one head");
        }
        String identity = timestep.replace("\"timestep\"", "\"identity\"");
        try (Tensor x = SessionTest.random(2, 3, 8, 8); Tensor labels = SessionTest.random(2, 64)) {
            runBoth(k -> unet2d(identity, k), UNetInputs.builder(x, Timestep.int64(5, 7)).classLabels(labels).build(), new long[]{2, 3, 8, 8});
        }
    }

    @Test
    void conditionalLinearProjectionHeadListsDeepTransformersOnlyCrossNoMid() {
        String json = """
                {"block_out_channels": [16, 32], "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
                 "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D"], "layers_per_block": 1,
                 "norm_num_groups": 8, "cross_attention_dim": 24, "attention_head_dim": [2, 4],
                 "use_linear_projection": true, "transformer_layers_per_block": [1, 2],
                 "only_cross_attention": [true, false], "mid_block_type": null,
                 "resnet_time_scale_shift": "scale_shift", "class_embed_type": "projection",
                 "projection_class_embeddings_input_dim": 6, "time_cond_proj_dim": 5, "timestep_post_act": "silu",
                 "time_embedding_act_fn": "silu", "in_channels": 4, "out_channels": 4}""";
        try (Tensor x = SessionTest.random(2, 4, 9, 7); Tensor e = SessionTest.random(2, 5, 24);
             Tensor labels = SessionTest.random(2, 6); Tensor cond = SessionTest.random(2, 5)) {
            UNetInputs in = UNetInputs.builder(x, Timestep.of(333.5)).encoderHiddenStates(e).classLabels(labels).timestepCond(cond).build();
            Map<String, AttentionInfo> at = runBoth(k -> cond(json, k), in, new long[]{2, 4, 9, 7});
            assertEquals(2, at.get("down_blocks.0.attentions.0.transformer_blocks.0.attn1").heads());
            assertTrue(at.get("down_blocks.0.attentions.0.transformer_blocks.0.attn1").crossAttention(), "only_cross_attention");
            assertFalse(at.get("down_blocks.1.attentions.0.transformer_blocks.0.attn1").crossAttention());
            assertEquals(4, at.get("down_blocks.1.attentions.0.transformer_blocks.1.attn2").heads(), "second transformer layer");
            assertEquals(4, at.get("up_blocks.0.attentions.0.transformer_blocks.1.attn2").heads(), "up blocks: reversed heads");
            assertEquals(2, at.get("up_blocks.1.attentions.1.transformer_blocks.0.attn1").heads());
            assertTrue(at.get("up_blocks.1.attentions.1.transformer_blocks.0.attn1").crossAttention(), "reversed only_cross");
            assertFalse(at.keySet().stream().anyMatch(p -> p.startsWith("mid_block")), "mid_block_type null");
        }
    }

    @Test
    void conditionalFourierMixedBlocksPlainMidKernelOneAndClassTable() {
        String json = """
                {"block_out_channels": [16, 32, 32], "down_block_types": ["AttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
                 "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "AttnUpBlock2D"], "layers_per_block": [1, 2, 1],
                 "norm_num_groups": 8, "cross_attention_dim": 12, "attention_head_dim": [8, 2, 4],
                 "mid_block_type": "UNetMidBlock2D", "time_embedding_type": "fourier", "num_class_embeds": 4,
                 "conv_in_kernel": 1, "conv_out_kernel": 1, "flip_sin_to_cos": false, "in_channels": 2, "out_channels": 5}""";
        try (Tensor x = SessionTest.random(3, 2, 12, 12); Tensor e = SessionTest.random(3, 3, 12); Tensor labels = Tensor.of(new float[]{0, 3, 1}, 3)) {
            UNetInputs in = UNetInputs.builder(x, Timestep.float32(0.7f)).encoderHiddenStates(e).classLabels(labels).build();
            Map<String, AttentionInfo> at = runBoth(k -> cond(json, k), in, new long[]{3, 5, 12, 12});
            assertEquals(2, at.get("down_blocks.0.attentions.0").heads(), "AttnDown: 16 channels / head dim 8");
            assertEquals(2, at.get("down_blocks.1.attentions.1.transformer_blocks.0.attn1").heads());
            assertEquals(2, at.get("up_blocks.1.attentions.2.transformer_blocks.0.attn2").heads(), "reversed heads list");
            assertEquals(4, at.get("up_blocks.2.attentions.0").headDim(), "AttnUp reads attention_head_dim[i], not reversed");
            assertFalse(at.keySet().stream().anyMatch(p -> p.startsWith("mid_block")), "UNetMidBlock2D in the conditional model has no attention");
        }
    }

    @Test
    void sdxlStyleTextTimeEmbedding() {
        String json = """
                {"block_out_channels": [16, 32], "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
                 "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"], "layers_per_block": 1, "norm_num_groups": 8,
                 "cross_attention_dim": 16, "attention_head_dim": [2, 4], "use_linear_projection": true,
                 "transformer_layers_per_block": [1, 2], "addition_embed_type": "text_time",
                 "addition_time_embed_dim": 8, "projection_class_embeddings_input_dim": 60, "in_channels": 4, "out_channels": 4}""";
        try (Tensor x = SessionTest.random(2, 4, 8, 8); Tensor e = SessionTest.random(2, 5, 16);
             Tensor text = SessionTest.random(2, 12); Tensor ids = Tensor.of(new float[]{64, 64, 0, 0, 64, 64, 32, 48, 0, 8, 32, 48}, 2, 6)) {
            UNetInputs in = UNetInputs.builder(x, Timestep.int64(10)).encoderHiddenStates(e).addedCond(text, ids).build();
            runBoth(k -> cond(json, k), in, new long[]{2, 4, 8, 8});
            try (UNetModel m = cond(json, REF); UNetSession s = m.newSession()) {
                float[][] seen = new float[1][];
                s.setInterceptor(new NodeInterceptor() {
                    @Override
                    public Tensor intercept(NodeCall call) {
                        if (call.path().equals("add_embedding")) seen[0] = call.input().toFloatArray();
                        return call.proceed();
                    }
                });
                s.forward(in).close();
                float[] t = text.toFloatArray();
                for (int b = 0; b < 2; b++) {
                    for (int j = 0; j < 12; j++) assertEquals(t[b * 12 + j], seen[0][b * 60 + j], "text_embeds first");
                    // time id 0 gives sin(0)=0 / cos(0)=1 (flip_sin_to_cos default true: cos half first)
                }
                assertEquals(1f, seen[0][12 + 2 * 8], 0f, "cos(0) for the third id of item 0");
                assertEquals(0f, seen[0][12 + 2 * 8 + 4], 0f, "sin(0)");
                UNetInputs missing = UNetInputs.builder(x, Timestep.int64(10)).encoderHiddenStates(e).build();
                IllegalArgumentException ex = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> s.forward(missing));
                assertTrue(ex.getMessage().contains("text_embeds and time_ids"), ex.getMessage());
            }
        }
    }
}
