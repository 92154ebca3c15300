package dev.unet4j.vae;

import dev.unet4j.unet.UnsupportedConfigException;
import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.unet.nn.Activation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * diffusers {@code AutoencoderKL} config ({@code vae/config.json}, v0.31). Defaults are the constructor's.
 *
 * @param inChannels           image channels, 3
 * @param outChannels          decoded image channels, 3
 * @param downBlockTypes       ("DownEncoderBlock2D") per level; the only type
 * @param upBlockTypes         ("UpDecoderBlock2D") per level; the only type
 * @param blockOutChannels     (64); the encoder's widths, reversed for the decoder
 * @param layersPerBlock       1 resnet per encoder block (decoder blocks have one more)
 * @param actFn                "silu" for the resnets (conv_act is always SiLU)
 * @param latentChannels       4
 * @param normNumGroups        32, for every GroupNorm (all with eps 1e-6)
 * @param sampleSize           32; a list's first entry. The tile size of tiled encode (in pixels)
 * @param scalingFactor        0.18215: latents are {@code (z - shift) * scaling_factor} for the diffusion model
 * @param shiftFactor          null (= 0): SD3/Flux-style latent shift
 * @param latentsMean          null: per-channel latent means (SDXL-era configs; informational, no helper uses it)
 * @param latentsStd           null: per-channel latent stds (as above)
 * @param forceUpcast          true (a float16 hint to pipelines; this implementation always runs float32)
 * @param useQuantConv         true: {@code quant_conv} (1x1, 2L -> 2L) after the encoder
 * @param usePostQuantConv     true: {@code post_quant_conv} (1x1, L -> L) before the decoder
 * @param midBlockAddAttention true: both mid blocks have their single-head attention
 */
public record AutoencoderKLConfig(int inChannels, int outChannels, List<String> downBlockTypes, List<String> upBlockTypes,
                                  int[] blockOutChannels, int layersPerBlock, String actFn, int latentChannels,
                                  int normNumGroups, int sampleSize, double scalingFactor, Double shiftFactor,
                                  double[] latentsMean, double[] latentsStd, boolean forceUpcast, boolean useQuantConv,
                                  boolean usePostQuantConv, boolean midBlockAddAttention) implements AutoencoderConfig {
    private static final Logger LOG = LoggerFactory.getLogger(AutoencoderKLConfig.class);
    private static final String M = "AutoencoderKL";
    /** Upper bounds that keep a hand-edited config from asking for absurd builds (SD's VAE: 512 channels, 4 levels). */
    static final int MAX_CHANNELS = 1 << 14, MAX_LEVELS = 12, MAX_LAYERS = 64;

    public AutoencoderKLConfig {
        downBlockTypes = List.copyOf(downBlockTypes);
        upBlockTypes = List.copyOf(upBlockTypes);
        blockOutChannels = blockOutChannels.clone();
        latentsMean = latentsMean == null ? null : latentsMean.clone();
        latentsStd = latentsStd == null ? null : latentsStd.clone();
        int n = blockOutChannels.length;
        range("block_out_channels (number of levels)", n, 1, MAX_LEVELS);
        if (downBlockTypes.size() != n || upBlockTypes.size() != n) {
            throw bad(n + " block_out_channels but " + downBlockTypes.size() + " down_block_types and "
                    + upBlockTypes.size() + " up_block_types (one of each per level)");
        }
        for (int i = 0; i < n; i++) {
            if (!downBlockTypes.get(i).equals("DownEncoderBlock2D")) {
                throw bad("down_block_types[" + i + "] \"" + downBlockTypes.get(i) + "\" is not supported (DownEncoderBlock2D)");
            }
            if (!upBlockTypes.get(i).equals("UpDecoderBlock2D")) {
                throw bad("up_block_types[" + i + "] \"" + upBlockTypes.get(i) + "\" is not supported (UpDecoderBlock2D)");
            }
        }
        range("in_channels", inChannels, 1, MAX_CHANNELS);
        range("out_channels", outChannels, 1, MAX_CHANNELS);
        range("latent_channels", latentChannels, 1, MAX_CHANNELS);
        range("layers_per_block", layersPerBlock, 1, MAX_LAYERS);
        range("norm_num_groups", normNumGroups, 1, MAX_CHANNELS);
        range("sample_size", sampleSize, 1, 1 << 20);
        for (int i = 0; i < n; i++) {
            range("block_out_channels[" + i + "]", blockOutChannels[i], 1, MAX_CHANNELS);
            if (blockOutChannels[i] % normNumGroups != 0) {
                throw bad("block_out_channels[" + i + "] = " + blockOutChannels[i] + " is not divisible into norm_num_groups = "
                        + normNumGroups + " groups");
            }
        }
        try {
            Activation.of(actFn);
        } catch (UnsupportedConfigException e) {
            throw bad("act_fn: " + e.getMessage());
        }
        if (!(Double.isFinite(scalingFactor) && scalingFactor > 0)) throw bad("scaling_factor must be a positive finite number, got " + scalingFactor);
        if (shiftFactor != null && !Double.isFinite(shiftFactor)) throw bad("shift_factor must be finite or null, got " + shiftFactor);
        perChannel("latents_mean", latentsMean, latentChannels);
        perChannel("latents_std", latentsStd, latentChannels);
    }

    private static UnsupportedConfigException bad(String what) {
        return new UnsupportedConfigException(M + ": " + what);
    }

    private static void range(String key, int v, int lo, int hi) {
        if (v < lo || v > hi) throw bad(key + " must be in [" + lo + ", " + hi + "], got " + v);
    }

    private static void perChannel(String key, double[] v, int channels) {
        if (v == null) return;
        if (v.length != channels) throw bad(key + " has " + v.length + " entries for " + channels + " latent_channels");
        for (double d : v) if (!Double.isFinite(d)) throw bad(key + " holds a non-finite value " + d);
    }

    /** Reads {@code vae/config.json}. */
    public static AutoencoderKLConfig load(Path configJson) throws IOException {
        return from(DiffusersConfig.load(configJson));
    }

    /** Parses config JSON text ({@code sourceName} names it in errors). */
    public static AutoencoderKLConfig parse(String json, String sourceName) throws IOException {
        return from(DiffusersConfig.parse(json, sourceName));
    }

    /**
     * The typed config; every problem names the file and the field (type errors as core's {@code ConfigException},
     * values out of range as {@link UnsupportedConfigException}).
     */
    public static AutoencoderKLConfig from(DiffusersConfig c) {
        try {
            AutoencoderKLConfig cfg = new AutoencoderKLConfig(
                    c.getInt("in_channels", 3),
                    c.getInt("out_channels", 3),
                    c.getStringList("down_block_types", List.of("DownEncoderBlock2D")),
                    c.getStringList("up_block_types", List.of("UpDecoderBlock2D")),
                    ints(c.getIntList("block_out_channels", List.of(64))),
                    c.getInt("layers_per_block", 1),
                    c.getString("act_fn", "silu"),
                    c.getInt("latent_channels", 4),
                    c.getInt("norm_num_groups", 32),
                    sampleSize(c),
                    c.getDouble("scaling_factor", 0.18215),
                    c.getDoubleOrNull("shift_factor", null),
                    optNumbers(c, "latents_mean"),
                    optNumbers(c, "latents_std"),
                    c.getBoolean("force_upcast", true),
                    c.getBoolean("use_quant_conv", true),
                    c.getBoolean("use_post_quant_conv", true),
                    c.getBoolean("mid_block_add_attention", true));
            c.logUnreadKeys(LOG);
            return cfg;
        } catch (UnsupportedConfigException e) {
            throw new UnsupportedConfigException("config " + c.source() + ": " + e.getMessage());
        }
    }

    /** An int, or a list whose first entry diffusers tiles with. */
    private static int sampleSize(DiffusersConfig c) {
        List<Integer> l = c.getIntList("sample_size", List.of(32));
        if (l.isEmpty()) throw bad("sample_size is an empty list");
        return l.get(0);
    }

    private static double[] optNumbers(DiffusersConfig c, String key) {
        if (!c.has(key) || c.isNull(key)) return null;
        return c.getDoubleList(key, null).stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static int[] ints(List<Integer> l) {
        return l.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Number of levels (encoder blocks). */
    public int levels() {
        return blockOutChannels.length;
    }

    /** Pixels per latent along each axis: {@code 2^(levels - 1)} (8 for SD). */
    @Override
    public int scaleFactor() {
        return 1 << (blockOutChannels.length - 1);
    }

    /** {@code shift_factor}, 0 when null. */
    @Override
    public double shift() {
        return shiftFactor == null ? 0 : shiftFactor;
    }
}
