package dev.unet4j.unet.nn;

/**
 * What every resnet of a UNet shares (the block builders' {@code resnet_*} arguments).
 *
 * @param tembChannels time embedding width
 * @param groups       norm_num_groups
 * @param eps          norm_eps
 * @param act          act_fn
 * @param scaleShift   resnet_time_scale_shift == "scale_shift"
 * @param skipTimeAct  resnet_skip_time_act (only read by block types that pass it)
 */
public record ResnetDefaults(int tembChannels, int groups, double eps, Activation act, boolean scaleShift, boolean skipTimeAct) {

    ResnetBlock2D.Spec spec(int in, int out, double outputScaleFactor, Resample resample) {
        return new ResnetBlock2D.Spec(in, out, tembChannels, groups, groups, eps, act, scaleShift, outputScaleFactor, false, resample);
    }
}
