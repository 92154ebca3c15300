package dev.unet4j.unet.nn;

/**
 * What every resnet of a UNet shares (the block builders' {@code resnet_*} arguments).
 *
 * @param tembChannels time embedding width
 * @param groups       norm_num_groups
 * @param eps          norm_eps
 * @param act          act_fn
 * @param scaleShift   resnet_time_scale_shift == "scale_shift"
 */
public record ResnetDefaults(int tembChannels, int groups, double eps, Activation act, boolean scaleShift) {

    /** A resnet of the supported block types (they never pass {@code skip_time_act}, which stays false). */
    ResnetBlock2D.Spec spec(int in, int out, double outputScaleFactor, Resample resample) {
        return new ResnetBlock2D.Spec(in, out, tembChannels, groups, groups, eps, act, scaleShift, outputScaleFactor, false, resample);
    }
}
