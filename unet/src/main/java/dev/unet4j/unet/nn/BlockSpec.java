package dev.unet4j.unet.nn;

/**
 * One down or up block, resolved from the model config the way diffusers' {@code get_down_block}/{@code get_up_block}
 * resolve it.
 *
 * @param type               diffusers class name (for messages)
 * @param numLayers          resnets in the block
 * @param in                 input channels (down) / skip channels of the last resnet (up)
 * @param out                output channels
 * @param prevOut            up blocks: channels coming from below
 * @param addResample        has a downsampler / upsampler
 * @param attention          the attention after each resnet
 * @param resnetResample     {@code downsample_type/upsample_type == "resnet"}: the resampler is a resnet with down/up
 * @param downsamplePadding  the downsampler's padding (0 = asymmetric)
 */
public record BlockSpec(String type, int numLayers, int in, int out, int prevOut, boolean addResample,
                        LayerAttention attention, boolean resnetResample, int downsamplePadding) {
}
