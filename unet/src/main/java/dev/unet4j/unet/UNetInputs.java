package dev.unet4j.unet;

import dev.unet4j.core.tensor.Tensor;

import java.util.List;

/**
 * The arguments of one UNet call, as diffusers' {@code forward} takes them. Tensors are borrowed: the caller keeps
 * ownership and must keep them open during the call. Build with {@link #builder(Tensor, Timestep)}.
 *
 * @param sample                          {@code [B, in_channels, H, W]} (may be null for {@link UNetSession#decode})
 * @param timestep                        one value or one per batch item
 * @param encoderHiddenStates             {@code [B, T, cross_attention_dim]} for the conditional model, else null
 * @param encoderAttentionMask            {@code [B, T]} of 1 (keep) / 0 (drop), or null; becomes {@code (1-m)*-10000}
 * @param classLabels                     class conditioning: {@code [B]} integer-valued labels for {@code num_class_embeds}
 *                                        or {@code class_embed_type="timestep"}, {@code [B, D]} for identity/projection
 * @param timestepCond                    {@code [B, time_cond_proj_dim]} (LCM guidance embedding), or null
 * @param downBlockAdditionalResiduals    ControlNet residuals, one per skip tensor ({@code skip.0..}), or null
 * @param midBlockAdditionalResidual      ControlNet residual added to the mid block output, or null
 * @param textEmbeds                      SDXL {@code added_cond_kwargs["text_embeds"]} {@code [B, D]}, or null
 * @param timeIds                         SDXL {@code added_cond_kwargs["time_ids"]} {@code [B, n]}, or null
 */
public record UNetInputs(Tensor sample, Timestep timestep, Tensor encoderHiddenStates, Tensor encoderAttentionMask,
                         Tensor classLabels, Tensor timestepCond, List<Tensor> downBlockAdditionalResiduals,
                         Tensor midBlockAdditionalResidual, Tensor textEmbeds, Tensor timeIds) {

    public UNetInputs {
        if (timestep == null) throw new IllegalArgumentException("timestep is required");
        downBlockAdditionalResiduals = downBlockAdditionalResiduals == null ? null : List.copyOf(downBlockAdditionalResiduals);
    }

    public static Builder builder(Tensor sample, Timestep timestep) {
        return new Builder(sample, timestep);
    }

    /** The same inputs with another sample and timestep (samplers reuse the conditioning). */
    public UNetInputs with(Tensor newSample, Timestep newTimestep) {
        return new UNetInputs(newSample, newTimestep, encoderHiddenStates, encoderAttentionMask, classLabels, timestepCond,
                downBlockAdditionalResiduals, midBlockAdditionalResidual, textEmbeds, timeIds);
    }

    public static final class Builder {
        private final Tensor sample;
        private final Timestep timestep;
        private Tensor encoderHiddenStates, encoderAttentionMask, classLabels, timestepCond, midResidual, textEmbeds, timeIds;
        private List<Tensor> downResiduals;

        private Builder(Tensor sample, Timestep timestep) {
            this.sample = sample;
            this.timestep = timestep;
        }

        public Builder encoderHiddenStates(Tensor t) {
            this.encoderHiddenStates = t;
            return this;
        }

        public Builder encoderAttentionMask(Tensor t) {
            this.encoderAttentionMask = t;
            return this;
        }

        public Builder classLabels(Tensor t) {
            this.classLabels = t;
            return this;
        }

        public Builder timestepCond(Tensor t) {
            this.timestepCond = t;
            return this;
        }

        /** ControlNet: both must be given together, as diffusers only applies them together. */
        public Builder controlNetResiduals(List<Tensor> down, Tensor mid) {
            this.downResiduals = down;
            this.midResidual = mid;
            return this;
        }

        /** SDXL micro-conditioning ({@code addition_embed_type="text_time"}): pooled text embeds and time ids. */
        public Builder addedCond(Tensor textEmbeds, Tensor timeIds) {
            this.textEmbeds = textEmbeds;
            this.timeIds = timeIds;
            return this;
        }

        public UNetInputs build() {
            return new UNetInputs(sample, timestep, encoderHiddenStates, encoderAttentionMask, classLabels, timestepCond,
                    downResiduals, midResidual, textEmbeds, timeIds);
        }
    }
}
