package dev.unet4j.vae;

import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.unet.UnsupportedConfigException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * diffusers {@code AutoencoderTiny} (TAESD) config, v0.31 constructor defaults.
 *
 * @param inChannels               3
 * @param outChannels              3
 * @param encoderBlockOutChannels  (64, 64, 64, 64)
 * @param decoderBlockOutChannels  (64, 64, 64, 64)
 * @param actFn                    "relu"
 * @param upsampleFn               "nearest" (the only mode supported)
 * @param latentChannels           4
 * @param upsamplingScalingFactor  2
 * @param numEncoderBlocks         (1, 3, 3, 3): AutoencoderTinyBlocks after each encoder conv
 * @param numDecoderBlocks         (3, 3, 3, 1)
 * @param latentMagnitude          3 (only for storing latents as bytes; unused here)
 * @param latentShift              0.5 (as above)
 * @param forceUpcast              false
 * @param scalingFactor            1.0
 * @param shiftFactor              0.0
 */
public record AutoencoderTinyConfig(int inChannels, int outChannels, int[] encoderBlockOutChannels,
                                    int[] decoderBlockOutChannels, String actFn, String upsampleFn, int latentChannels,
                                    int upsamplingScalingFactor, int[] numEncoderBlocks, int[] numDecoderBlocks,
                                    double latentMagnitude, double latentShift, boolean forceUpcast, double scalingFactor,
                                    double shiftFactor) implements AutoencoderConfig {
    private static final Logger LOG = LoggerFactory.getLogger(AutoencoderTinyConfig.class);
    private static final int MAX = AutoencoderKLConfig.MAX_CHANNELS;

    public AutoencoderTinyConfig {
        encoderBlockOutChannels = encoderBlockOutChannels.clone();
        decoderBlockOutChannels = decoderBlockOutChannels.clone();
        numEncoderBlocks = numEncoderBlocks.clone();
        numDecoderBlocks = numDecoderBlocks.clone();
        range("in_channels", inChannels, 1, MAX);
        range("out_channels", outChannels, 1, MAX);
        range("latent_channels", latentChannels, 1, MAX);
        range("upsampling_scaling_factor", upsamplingScalingFactor, 1, 16);
        levels("encoder", encoderBlockOutChannels, numEncoderBlocks);
        levels("decoder", decoderBlockOutChannels, numDecoderBlocks);
        if (encoderBlockOutChannels.length != decoderBlockOutChannels.length) {
            throw bad(encoderBlockOutChannels.length + " encoder levels but " + decoderBlockOutChannels.length + " decoder levels");
        }
        TinyActivation.of(actFn);
        if (!"nearest".equals(upsampleFn)) throw bad("upsample_fn \"" + upsampleFn + "\" is not supported (nearest)");
        if (!(Double.isFinite(scalingFactor) && scalingFactor > 0)) throw bad("scaling_factor must be a positive finite number, got " + scalingFactor);
        if (!Double.isFinite(shiftFactor)) throw bad("shift_factor must be finite, got " + shiftFactor);
    }

    /**
     * diffusers' EncoderTiny/DecoderTiny convs between levels map a level's width to itself, so a checkpoint whose
     * levels differ in width cannot run there either: refused here with the reason.
     */
    private static void levels(String which, int[] channels, int[] blocks) {
        range(which + "_block_out_channels (number of levels)", channels.length, 1, AutoencoderKLConfig.MAX_LEVELS);
        if (blocks.length != channels.length) {
            throw bad("num_" + which + "_blocks has " + blocks.length + " entries for " + channels.length + " " + which + "_block_out_channels");
        }
        for (int i = 0; i < channels.length; i++) {
            range(which + "_block_out_channels[" + i + "]", channels[i], 1, MAX);
            range("num_" + which + "_blocks[" + i + "]", blocks[i], 0, AutoencoderKLConfig.MAX_LAYERS);
            if (channels[i] != channels[0]) {
                throw bad(which + "_block_out_channels " + java.util.Arrays.toString(channels) + ": diffusers' " + which
                        + " maps each level's width to itself between levels, so all levels must be equally wide");
            }
        }
    }

    private static UnsupportedConfigException bad(String what) {
        return new UnsupportedConfigException("AutoencoderTiny: " + what);
    }

    private static void range(String key, int v, int lo, int hi) {
        if (v < lo || v > hi) throw bad(key + " must be in [" + lo + ", " + hi + "], got " + v);
    }

    public static AutoencoderTinyConfig from(DiffusersConfig c) {
        try {
            AutoencoderTinyConfig cfg = new AutoencoderTinyConfig(
                    c.getInt("in_channels", 3),
                    c.getInt("out_channels", 3),
                    ints(c.getIntList("encoder_block_out_channels", List.of(64, 64, 64, 64))),
                    ints(c.getIntList("decoder_block_out_channels", List.of(64, 64, 64, 64))),
                    c.getString("act_fn", "relu"),
                    c.getString("upsample_fn", "nearest"),
                    c.getInt("latent_channels", 4),
                    c.getInt("upsampling_scaling_factor", 2),
                    ints(c.getIntList("num_encoder_blocks", List.of(1, 3, 3, 3))),
                    ints(c.getIntList("num_decoder_blocks", List.of(3, 3, 3, 1))),
                    c.getDouble("latent_magnitude", 3),
                    c.getDouble("latent_shift", 0.5),
                    c.getBoolean("force_upcast", false),
                    c.getDouble("scaling_factor", 1.0),
                    c.getDouble("shift_factor", 0.0));
            c.logUnreadKeys(LOG);
            return cfg;
        } catch (UnsupportedConfigException e) {
            throw new UnsupportedConfigException("config " + c.source() + ": " + e.getMessage());
        }
    }

    private static int[] ints(List<Integer> l) {
        return l.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Pixels per latent: the encoder has one stride-2 conv per level after the first. */
    @Override
    public int scaleFactor() {
        int f = 1;
        for (int i = 1; i < encoderBlockOutChannels.length; i++) f *= 2;
        return f;
    }

    /** {@code shift_factor}. */
    @Override
    public double shift() {
        return shiftFactor;
    }
}
