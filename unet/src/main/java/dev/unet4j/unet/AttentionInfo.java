package dev.unet4j.unet;

/**
 * An attention layer as built (compare with the fixtures' {@code meta.json attention_modules}).
 *
 * @param path                 diffusers module path
 * @param heads                number of heads
 * @param headDim              channels per head
 * @param scale                softmax scale ({@code headDim^-0.5})
 * @param queryDim             channels of the query input
 * @param kvInFeatures         channels of the key/value input (cross_attention_dim for cross-attention)
 * @param crossAttention       keys/values come from the encoder hidden states
 * @param qkvBias              q/k/v projections have a bias
 * @param groupNormGroups      groups of the attention's own group norm, 0 when it has none
 * @param residualConnection   adds its input to the output
 * @param rescaleOutputFactor  divides the output by this
 */
public record AttentionInfo(String path, int heads, int headDim, double scale, int queryDim, int kvInFeatures,
                            boolean crossAttention, boolean qkvBias, int groupNormGroups, boolean residualConnection,
                            double rescaleOutputFactor) {
}
