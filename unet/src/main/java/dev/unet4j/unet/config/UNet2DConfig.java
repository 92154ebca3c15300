package dev.unet4j.unet.config;

import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.unet.UnsupportedConfigException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * diffusers {@code UNet2DModel} config (v0.31). Defaults are the constructor's. {@code attentionHeadDim} is the
 * channels per head ({@code null}: one head as wide as the block).
 *
 * @param sampleSize           the trained size (null: none given); the default size of a generation
 * @param inChannels           3
 * @param outChannels          3
 * @param centerInputSample    false: {@code 2x - 1} first when true
 * @param timeEmbeddingType    "positional" | "fourier"
 * @param freqShift            0
 * @param flipSinToCos         true
 * @param downBlockTypes       (DownBlock2D, AttnDownBlock2D, AttnDownBlock2D, AttnDownBlock2D)
 * @param upBlockTypes         (AttnUpBlock2D, AttnUpBlock2D, AttnUpBlock2D, UpBlock2D)
 * @param blockOutChannels     (224, 448, 672, 896)
 * @param layersPerBlock       2 (up blocks have one more)
 * @param midBlockScaleFactor  1
 * @param downsamplePadding    1 (0 = asymmetric right/bottom pad)
 * @param downsampleType       "conv" | "resnet" (AttnDownBlock2D only)
 * @param upsampleType         "conv" | "resnet" (AttnUpBlock2D only)
 * @param actFn                "silu"
 * @param attentionHeadDim     8
 * @param normNumGroups        32
 * @param attnNormNumGroups    null: the mid attention uses norm_num_groups, or no norm with scale_shift
 * @param normEps              1e-5
 * @param resnetTimeScaleShift "default" | "scale_shift"
 * @param addAttention         true (mid-block attention)
 * @param classEmbedType       null | "timestep" | "identity"
 * @param numClassEmbeds       null (an nn.Embedding when set and classEmbedType is null)
 */
public record UNet2DConfig(SampleSize sampleSize, int inChannels, int outChannels, boolean centerInputSample,
                           String timeEmbeddingType, double freqShift, boolean flipSinToCos,
                           List<String> downBlockTypes, List<String> upBlockTypes, int[] blockOutChannels,
                           int layersPerBlock, double midBlockScaleFactor, int downsamplePadding,
                           String downsampleType, String upsampleType, String actFn, Integer attentionHeadDim,
                           int normNumGroups, Integer attnNormNumGroups, double normEps, String resnetTimeScaleShift,
                           boolean addAttention, String classEmbedType, Integer numClassEmbeds) implements UNetConfig {
    static final String CLASS_NAME = "UNet2DModel";
    private static final Logger LOG = LoggerFactory.getLogger(UNet2DConfig.class);

    public UNet2DConfig {
        downBlockTypes = List.copyOf(downBlockTypes);
        upBlockTypes = List.copyOf(upBlockTypes);
        blockOutChannels = blockOutChannels.clone();
        int n = blockOutChannels.length;
        Check.blocks("UNet2DModel", n);
        Check.epsilon("UNet2DModel", "norm_eps", normEps);
        Check.divisor("UNet2DModel", "mid_block_scale_factor", midBlockScaleFactor);
        if (downBlockTypes.size() != n || upBlockTypes.size() != n) {
            throw new UnsupportedConfigException("UNet2DModel: " + n + " block_out_channels but " + downBlockTypes.size()
                    + " down and " + upBlockTypes.size() + " up block types");
        }
        for (String t : downBlockTypes) {
            if (!t.equals("DownBlock2D") && !t.equals("AttnDownBlock2D")) {
                throw new UnsupportedConfigException("UNet2DModel: down block type " + t + " is not supported (DownBlock2D, AttnDownBlock2D)");
            }
        }
        for (String t : upBlockTypes) {
            if (!t.equals("UpBlock2D") && !t.equals("AttnUpBlock2D")) {
                throw new UnsupportedConfigException("UNet2DModel: up block type " + t + " is not supported (UpBlock2D, AttnUpBlock2D)");
            }
        }
        Check.oneOf("UNet2DModel", "time_embedding_type", timeEmbeddingType, "positional", "fourier");
        Check.oneOf("UNet2DModel", "resnet_time_scale_shift", resnetTimeScaleShift, "default", "scale_shift");
        Check.oneOf("UNet2DModel", "downsample_type", downsampleType, "conv", "resnet");
        Check.oneOf("UNet2DModel", "upsample_type", upsampleType, "conv", "resnet");
        if (classEmbedType != null) Check.oneOf("UNet2DModel", "class_embed_type", classEmbedType, "timestep", "identity");
        String m = "UNet2DModel";
        Check.positive(m, "block_out_channels", blockOutChannels);
        Check.positive(m, "in_channels", inChannels);
        Check.positive(m, "out_channels", outChannels);
        Check.positive(m, "layers_per_block", layersPerBlock);
        Check.positive(m, "norm_num_groups", normNumGroups);
        Check.positive(m, "attention_head_dim", attentionHeadDim);
        Check.positive(m, "attn_norm_num_groups", attnNormNumGroups);
        Check.positive(m, "num_class_embeds", numClassEmbeds);
        Check.padding(m, downsamplePadding);
    }

    /** The config of {@code c} (diffusers' constructor defaults for missing keys). */
    public static UNet2DConfig from(DiffusersConfig c) {
        UNet2DConfig cfg = new UNet2DConfig(
                SampleSize.read(c),
                c.getInt("in_channels", 3),
                c.getInt("out_channels", 3),
                c.getBoolean("center_input_sample", false),
                c.getStringOrNull("time_embedding_type", "positional"),
                c.getDouble("freq_shift", 0),
                c.getBoolean("flip_sin_to_cos", true),
                c.getStringList("down_block_types", List.of("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D")),
                c.getStringList("up_block_types", List.of("AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D")),
                ints(c.getIntList("block_out_channels", List.of(224, 448, 672, 896))),
                c.getInt("layers_per_block", 2),
                c.getDouble("mid_block_scale_factor", 1),
                c.getInt("downsample_padding", 1),
                c.getStringOrNull("downsample_type", "conv"),
                c.getStringOrNull("upsample_type", "conv"),
                c.getStringOrNull("act_fn", "silu"),
                c.getIntOrNull("attention_head_dim", 8),
                c.getInt("norm_num_groups", 32),
                c.getIntOrNull("attn_norm_num_groups", null),
                c.getDouble("norm_eps", 1e-5),
                c.getStringOrNull("resnet_time_scale_shift", "default"),
                c.getBoolean("add_attention", true),
                c.getStringOrNull("class_embed_type", null),
                c.getIntOrNull("num_class_embeds", null));
        c.getDouble("dropout", 0); // inference: no effect
        c.getIntOrNull("num_train_timesteps", null); // only for time_embedding_type "learned"
        c.logUnreadKeys(LOG);
        return cfg;
    }

    /** Parses {@code config.json} contents. */
    public static UNet2DConfig fromJson(String json) {
        return from(ConfigJson.parse(json));
    }

    static int[] ints(List<Integer> v) {
        return v.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public String className() {
        return CLASS_NAME;
    }

    @Override
    public int textEmbeddingDim() {
        return 0;
    }

    @Override
    public int[] blockOutChannels() {
        return blockOutChannels.clone();
    }
}
