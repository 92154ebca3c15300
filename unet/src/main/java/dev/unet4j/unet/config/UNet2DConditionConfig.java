package dev.unet4j.unet.config;

import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.unet.UnsupportedConfigException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Set;

/**
 * diffusers {@code UNet2DConditionModel} config (v0.31), with per-block fields already expanded to one entry per
 * down block (as the constructor expands an int). Defaults are the constructor's. {@code attentionHeadDim} is the
 * number of HEADS of each cross-attention transformer ({@code num_attention_heads = num_attention_heads or
 * attention_head_dim}); the mid block uses the last entry, up blocks the reversed list. Only AttnDown/AttnUp blocks
 * read it as a head dim (not reversed).
 *
 * @param sampleSize                       the trained latent size (null: none given); the default size of a generation
 * @param inChannels                       4
 * @param outChannels                      4
 * @param centerInputSample                false
 * @param flipSinToCos                     true
 * @param freqShift                        0
 * @param downBlockTypes                   (CrossAttnDownBlock2D x3, DownBlock2D)
 * @param midBlockType                     "UNetMidBlock2DCrossAttn" | "UNetMidBlock2D" | null
 * @param upBlockTypes                     (UpBlock2D, CrossAttnUpBlock2D x3)
 * @param onlyCrossAttention               false, per down block
 * @param blockOutChannels                 (320, 640, 1280, 1280)
 * @param layersPerBlock                   2, per down block
 * @param downsamplePadding                1
 * @param midBlockScaleFactor              1
 * @param actFn                            "silu"
 * @param normNumGroups                    32; null = no conv_norm_out
 * @param normEps                          1e-5
 * @param crossAttentionDim                1280, per down block
 * @param transformerLayersPerBlock        1, per down block (a block may list one value per layer)
 * @param reverseTransformerLayersPerBlock null = reversed transformerLayersPerBlock
 * @param attentionHeadDim                 8, per down block
 * @param useLinearProjection              false
 * @param upcastAttention                  false (float32 already)
 * @param resnetTimeScaleShift             "default" | "scale_shift"
 * @param resnetSkipTimeAct                false (read only by block types not supported here)
 * @param resnetOutScaleFactor             1.0 (read only by block types not supported here)
 * @param timeEmbeddingType                "positional" | "fourier"
 * @param timeEmbeddingDim                 null = block_out_channels[0] * 4 (fourier: * 2)
 * @param timeEmbeddingActFn               null: activation applied to the final embedding
 * @param timestepPostAct                  null: activation at the end of the time MLP
 * @param timeCondProjDim                  null: timestep_cond projection input width
 * @param convInKernel                     3
 * @param convOutKernel                    3
 * @param classEmbedType                   null | "timestep" | "identity" | "projection" | "simple_projection"
 * @param numClassEmbeds                   null
 * @param projectionClassEmbeddingsInputDim null (also the input width of the SDXL add_embedding)
 * @param additionEmbedType                null | "text_time" (SDXL)
 * @param additionTimeEmbedDim             null: sinusoid width per SDXL time id
 */
public record UNet2DConditionConfig(SampleSize sampleSize, int inChannels, int outChannels, boolean centerInputSample, boolean flipSinToCos,
                                    double freqShift, List<String> downBlockTypes, String midBlockType,
                                    List<String> upBlockTypes, boolean[] onlyCrossAttention, int[] blockOutChannels,
                                    int[] layersPerBlock, int downsamplePadding, double midBlockScaleFactor,
                                    String actFn, Integer normNumGroups, double normEps, int[] crossAttentionDim,
                                    int[][] transformerLayersPerBlock, int[][] reverseTransformerLayersPerBlock,
                                    Integer[] attentionHeadDim, boolean useLinearProjection, boolean upcastAttention,
                                    String resnetTimeScaleShift, boolean resnetSkipTimeAct, double resnetOutScaleFactor,
                                    String timeEmbeddingType, Integer timeEmbeddingDim, String timeEmbeddingActFn,
                                    String timestepPostAct, Integer timeCondProjDim, int convInKernel, int convOutKernel,
                                    String classEmbedType, Integer numClassEmbeds,
                                    Integer projectionClassEmbeddingsInputDim, String additionEmbedType,
                                    Integer additionTimeEmbedDim) implements UNetConfig {
    static final String CLASS_NAME = "UNet2DConditionModel";
    private static final Logger LOG = LoggerFactory.getLogger(UNet2DConditionConfig.class);
    private static final Set<String> DOWN = Set.of("DownBlock2D", "AttnDownBlock2D", "CrossAttnDownBlock2D");
    private static final Set<String> UP = Set.of("UpBlock2D", "AttnUpBlock2D", "CrossAttnUpBlock2D");

    public UNet2DConditionConfig {
        String m = "UNet2DConditionModel";
        int n = blockOutChannels.length;
        Check.blocks(m, n);
        Check.epsilon(m, "norm_eps", normEps);
        Check.divisor(m, "mid_block_scale_factor", midBlockScaleFactor);
        Check.divisor(m, "resnet_out_scale_factor", resnetOutScaleFactor);
        if (downBlockTypes.size() != n || upBlockTypes.size() != n) {
            throw new UnsupportedConfigException(m + ": " + n + " block_out_channels but " + downBlockTypes.size()
                    + " down and " + upBlockTypes.size() + " up block types");
        }
        for (String t : downBlockTypes) {
            if (!DOWN.contains(t)) throw new UnsupportedConfigException(m + ": down block type " + t + " is not supported " + DOWN);
        }
        for (String t : upBlockTypes) {
            if (!UP.contains(t)) throw new UnsupportedConfigException(m + ": up block type " + t + " is not supported " + UP);
        }
        if (midBlockType != null) Check.oneOf(m, "mid_block_type", midBlockType, "UNetMidBlock2DCrossAttn", "UNetMidBlock2D");
        Check.oneOf(m, "resnet_time_scale_shift", resnetTimeScaleShift, "default", "scale_shift");
        Check.oneOf(m, "time_embedding_type", timeEmbeddingType, "positional", "fourier");
        if (classEmbedType != null) {
            Check.oneOf(m, "class_embed_type", classEmbedType, "timestep", "identity", "projection", "simple_projection");
            if (classEmbedType.endsWith("projection") && projectionClassEmbeddingsInputDim == null) {
                throw new UnsupportedConfigException(m + ": class_embed_type " + classEmbedType + " requires projection_class_embeddings_input_dim");
            }
        }
        for (int[] arr : new int[][]{layersPerBlock, crossAttentionDim}) {
            if (arr.length != n) throw new UnsupportedConfigException(m + ": per-block lists must have " + n + " entries");
        }
        if (onlyCrossAttention.length != n || attentionHeadDim.length != n || transformerLayersPerBlock.length != n) {
            throw new UnsupportedConfigException(m + ": per-block lists must have " + n + " entries");
        }
        if (additionEmbedType != null) {
            Check.oneOf(m, "addition_embed_type", additionEmbedType, "text_time");
            if (additionTimeEmbedDim == null || projectionClassEmbeddingsInputDim == null) {
                throw new UnsupportedConfigException(m + ": addition_embed_type text_time needs addition_time_embed_dim and projection_class_embeddings_input_dim");
            }
        }
        if (normNumGroups == null) {
            // diffusers allows it (no conv_norm_out) but every resnet would then get groups=None and fail
            throw new UnsupportedConfigException(m + ": norm_num_groups null is not supported");
        }
        Check.positive(m, "block_out_channels", blockOutChannels);
        Check.positive(m, "in_channels", inChannels);
        Check.positive(m, "out_channels", outChannels);
        Check.positive(m, "layers_per_block", layersPerBlock);
        Check.positive(m, "norm_num_groups", normNumGroups);
        Check.positive(m, "cross_attention_dim", crossAttentionDim);
        Check.positive(m, "attention_head_dim", attentionHeadDim);
        for (int[][] t : new int[][][]{transformerLayersPerBlock, reverseTransformerLayersPerBlock}) {
            if (t != null) for (int[] block : t) Check.positive(m, "transformer_layers_per_block", block);
        }
        Check.positive(m, "conv_in_kernel / conv_out_kernel", convInKernel, convOutKernel);
        Check.positive(m, "time_embedding_dim", timeEmbeddingDim);
        Check.positive(m, "time_cond_proj_dim", timeCondProjDim);
        Check.positive(m, "num_class_embeds", numClassEmbeds);
        Check.positive(m, "projection_class_embeddings_input_dim", projectionClassEmbeddingsInputDim);
        Check.positive(m, "addition_time_embed_dim", additionTimeEmbedDim);
        Check.padding(m, downsamplePadding);
        blockOutChannels = blockOutChannels.clone();
        downBlockTypes = List.copyOf(downBlockTypes);
        upBlockTypes = List.copyOf(upBlockTypes);
    }

    /** The config of {@code c} (diffusers' constructor defaults for missing keys, per-block values expanded). */
    public static UNet2DConditionConfig from(DiffusersConfig c) {
        String m = CLASS_NAME;
        List<String> down = c.getStringList("down_block_types", List.of("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"));
        int n = down.size();
        unsupportedIf(c.getBoolean("dual_cross_attention", false), m + ": dual_cross_attention is not supported");
        unsupportedIf(c.getIntListOrNull("num_attention_heads", null) != null,
                m + ": num_attention_heads must be null (diffusers 0.31 refuses it too; use attention_head_dim)");
        unsupportedIf(c.getStringOrNull("encoder_hid_dim_type", null) != null || c.getIntOrNull("encoder_hid_dim", null) != null,
                m + ": encoder_hid_dim / encoder_hid_dim_type are not supported");
        String attentionType = c.getStringOrNull("attention_type", "default");
        unsupportedIf(!"default".equals(attentionType), m + ": attention_type " + attentionType + " is not supported");
        unsupportedIf(c.getBoolean("class_embeddings_concat", false), m + ": class_embeddings_concat is not supported");
        unsupportedIf(c.getStringOrNull("cross_attention_norm", null) != null, m + ": cross_attention_norm is not supported");
        List<Integer> heads = c.getIntPerBlockOrNull("attention_head_dim", 8, n);
        List<Integer> cross = c.getIntListOrNull("cross_attention_dim", List.of(1280));
        if (cross == null) throw new UnsupportedConfigException(m + ": cross_attention_dim null is not supported");
        if (cross.size() != 1 && cross.size() != n) throw new UnsupportedConfigException(m + ": cross_attention_dim needs 1 or " + n + " entries");
        int[] crossPerBlock = new int[n];
        for (int i = 0; i < n; i++) crossPerBlock[i] = cross.get(cross.size() == 1 ? 0 : i);
        List<Integer> layers = c.getIntPerBlockOrNull("layers_per_block", 2, n);
        if (layers == null) throw new UnsupportedConfigException(c.source() + ": \"layers_per_block\" must be an integer or a list of integers");
        c.ignore("mid_block_only_cross_attention"); // only UNetMidBlock2DSimpleCrossAttn reads it
        UNet2DConditionConfig cfg = new UNet2DConditionConfig(
                SampleSize.read(c),
                c.getInt("in_channels", 4),
                c.getInt("out_channels", 4),
                c.getBoolean("center_input_sample", false),
                c.getBoolean("flip_sin_to_cos", true),
                c.getDouble("freq_shift", 0),
                down,
                c.getStringOrNull("mid_block_type", "UNetMidBlock2DCrossAttn"),
                c.getStringList("up_block_types", List.of("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D")),
                booleans(c.getBooleanPerBlock("only_cross_attention", false, n)),
                UNet2DConfig.ints(c.getIntList("block_out_channels", List.of(320, 640, 1280, 1280))),
                UNet2DConfig.ints(layers),
                c.getInt("downsample_padding", 1),
                c.getDouble("mid_block_scale_factor", 1),
                c.getStringOrNull("act_fn", "silu"),
                c.getIntOrNull("norm_num_groups", 32),
                c.getDouble("norm_eps", 1e-5),
                crossPerBlock,
                nested(c.getNestedIntPerBlockOrNull("transformer_layers_per_block", 1, n)),
                c.has("reverse_transformer_layers_per_block") ? nested(c.getNestedIntPerBlockOrNull("reverse_transformer_layers_per_block", 1, n)) : null,
                heads == null ? new Integer[n] : heads.toArray(new Integer[0]),
                c.getBoolean("use_linear_projection", false),
                c.getBoolean("upcast_attention", false),
                c.getStringOrNull("resnet_time_scale_shift", "default"),
                c.getBoolean("resnet_skip_time_act", false),
                c.getDouble("resnet_out_scale_factor", 1.0),
                c.getStringOrNull("time_embedding_type", "positional"),
                c.getIntOrNull("time_embedding_dim", null),
                c.getStringOrNull("time_embedding_act_fn", null),
                c.getStringOrNull("timestep_post_act", null),
                c.getIntOrNull("time_cond_proj_dim", null),
                c.getInt("conv_in_kernel", 3),
                c.getInt("conv_out_kernel", 3),
                c.getStringOrNull("class_embed_type", null),
                c.getIntOrNull("num_class_embeds", null),
                c.getIntOrNull("projection_class_embeddings_input_dim", null),
                c.getStringOrNull("addition_embed_type", null),
                c.getIntOrNull("addition_time_embed_dim", null));
        c.getDouble("dropout", 0);
        c.getIntOrNull("addition_embed_type_num_heads", 64);
        c.logUnreadKeys(LOG);
        return cfg;
    }

    /** Parses {@code config.json} contents. */
    public static UNet2DConditionConfig fromJson(String json) {
        return from(ConfigJson.parse(json));
    }

    private static boolean[] booleans(List<Boolean> v) {
        boolean[] out = new boolean[v.size()];
        for (int i = 0; i < out.length; i++) out[i] = v.get(i);
        return out;
    }

    /** Per-block lists as arrays; null stays null. */
    private static int[][] nested(List<List<Integer>> v) {
        if (v == null) return null;
        int[][] out = new int[v.size()][];
        for (int i = 0; i < out.length; i++) out[i] = UNet2DConfig.ints(v.get(i));
        return out;
    }

    @Override
    public String className() {
        return CLASS_NAME;
    }

    /** The first block's {@code cross_attention_dim}: the width of the text embeddings. */
    @Override
    public int textEmbeddingDim() {
        return crossAttentionDim[0];
    }

    private static void unsupportedIf(boolean cond, String message) {
        if (cond) throw new UnsupportedConfigException(message);
    }

    /** Cross-attention heads of down block {@code i} ({@code num_attention_heads = attention_head_dim}). */
    public int heads(int i) {
        if (attentionHeadDim[i] == null) throw new UnsupportedConfigException("UNet2DConditionModel: attention_head_dim[" + i + "] is null");
        return attentionHeadDim[i];
    }

    /** Head dim of AttnDown/AttnUp block {@code i}'s attention: {@code attention_head_dim[i]}, or the block's channels. */
    public int spatialHeadDim(int i, int channels) {
        return attentionHeadDim[i] == null ? channels : attentionHeadDim[i];
    }

    /** Transformer depth per up block: reverse_transformer_layers_per_block, else the reversed down list. */
    public int[][] upTransformerLayers() {
        if (reverseTransformerLayersPerBlock != null) return reverseTransformerLayersPerBlock;
        int n = transformerLayersPerBlock.length;
        int[][] r = new int[n][];
        for (int i = 0; i < n; i++) r[i] = transformerLayersPerBlock[n - 1 - i];
        return r;
    }
}
