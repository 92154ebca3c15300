package dev.unet4j.unet.nn;

import dev.unet4j.unet.TimestepRule;

import java.util.List;

/**
 * A UNet fully resolved from its config: what both diffusers classes build, with every per-class rule made explicit.
 *
 * @param modelClass                  "UNet2DModel" / "UNet2DConditionModel" (messages)
 * @param inChannels                  sample channels
 * @param outChannels                 output channels
 * @param convInKernel                conv_in kernel (padding (k-1)/2)
 * @param convOutKernel               conv_out kernel
 * @param blockOutChannels            per level
 * @param timeProj                    time_proj
 * @param tembDim                     time embedding width
 * @param timeAct                     time MLP activation
 * @param timePostAct                 time MLP post activation or null
 * @param condProjDim                 timestep_cond width or null
 * @param classEmbedding              class embedding or null
 * @param tembFinalAct                activation on the final embedding (time_embedding_act_fn) or null
 * @param resnet                      shared resnet settings
 * @param down                        down blocks
 * @param mid                         mid block or null
 * @param up                          up blocks
 * @param normOutGroups               conv_norm_out groups
 * @param normOutEps                  conv_norm_out eps
 * @param convAct                     conv_act
 * @param centerInput                 center_input_sample
 * @param divideByTimestep            UNet2DModel with Fourier time: output / timesteps
 * @param timestepRule                how a Python float timestep is typed
 * @param forwardsUpsampleSize        the model passes the skip size to upsamplers (UNet2DConditionModel); if false,
 *                                    spatial sizes must be divisible by 2^downsamplers as diffusers' cat would fail
 * @param classLabelsWithoutEmbedding what class labels do on a model without class embedding: true = error
 * @param crossAttentionDim           width of encoder hidden states the cross-attentions expect (0: none)
 * @param addedEmbedding              SDXL text_time embedding, or null
 */
public record GraphSpec(String modelClass, int inChannels, int outChannels, int convInKernel, int convOutKernel,
                        int[] blockOutChannels, TimeProjection.Spec timeProj, int tembDim, Activation timeAct,
                        Activation timePostAct, Integer condProjDim, ClassEmbedding.Spec classEmbedding,
                        Activation tembFinalAct, ResnetDefaults resnet, List<BlockSpec> down, MidSpec mid,
                        List<BlockSpec> up, int normOutGroups, double normOutEps, Activation convAct,
                        boolean centerInput, boolean divideByTimestep, TimestepRule timestepRule,
                        boolean forwardsUpsampleSize, boolean classLabelsWithoutEmbedding, int crossAttentionDim,
                        AddedEmbedding.Spec addedEmbedding) {

    /**
     * @param type       diffusers class name
     * @param numLayers  attention+resnet pairs after the first resnet
     * @param attention  the attentions
     * @param scale      output_scale_factor / rescale_output_factor (mid_block_scale_factor)
     */
    public record MidSpec(String type, int numLayers, LayerAttention attention, double scale) {
    }
}
