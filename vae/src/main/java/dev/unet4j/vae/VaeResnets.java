package dev.unet4j.vae;

import dev.unet4j.unet.nn.Activation;
import dev.unet4j.unet.nn.ResnetBlock2D;
import dev.unet4j.unet.nn.ResnetDefaults;
import dev.unet4j.unet.nn.Resample;

/**
 * What every resnet of the VAE shares: no time embedding, {@code norm_num_groups} groups, eps 1e-6 (the Encoder and
 * Decoder hard-code it), the config's activation, output scale 1.
 */
record VaeResnets(int groups, Activation act) {
    /** diffusers' Encoder/Decoder pass {@code resnet_eps=1e-6} to every block, whatever the config. */
    static final double EPS = 1e-6;

    ResnetBlock2D.Spec spec(int in, int out) {
        return new ResnetBlock2D.Spec(in, out, 0, groups, groups, EPS, act, false, 1.0, false, Resample.NONE);
    }

    /** The argument {@code MidBlock} takes. */
    ResnetDefaults defaults() {
        return new ResnetDefaults(0, groups, EPS, act, false);
    }
}
