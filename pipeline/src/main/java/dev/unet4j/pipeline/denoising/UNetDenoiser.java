package dev.unet4j.pipeline.denoising;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.ModelCall;
import dev.unet4j.samplers.guidance.ClassConditioning;
import dev.unet4j.samplers.guidance.Conditioning;
import dev.unet4j.samplers.guidance.DiffusionModel;
import dev.unet4j.samplers.guidance.NoConditioning;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.samplers.guidance.TextTimeConditioning;
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetSession;

import java.util.Objects;
import java.util.function.Function;

/**
 * Runs a diffusers UNet ({@link UNetSession}) as the samplers' {@link DiffusionModel}: copies the heap latents and
 * conditioning into tensors for one {@code forward}, and the output back. Text conditioning becomes
 * {@code encoder_hidden_states}, class conditioning {@code class_labels}, SDXL's text-time conditioning
 * {@code encoder_hidden_states} plus {@code added_cond_kwargs} (text_embeds, time_ids).
 *
 * <p>The timestep is passed as a float64 tensor: every scheduler passes a tensor (int64 for DDIM/DPM, float32 for
 * Euler, float64 for Heun), tensors are never truncated, and the UNet casts the value to float32 before the
 * sinusoid, so a float64 tensor holding the exact value gives the same embedding for all of them.
 *
 * <p>Not thread-safe (a session belongs to one thread); the session stays owned by the caller.
 */
public final class UNetDenoiser implements DiffusionModel {
    private final UNetSession session;

    public UNetDenoiser(UNetSession session) {
        this.session = Objects.requireNonNull(session, "session");
    }

    @Override
    public Latents forward(Latents x, ModelCall call, Conditioning cond) {
        return forward(x, call, cond, session::forward);
    }

    /**
     * The conversion above around any UNet evaluation ({@code unet} gets the inputs, returns an output the caller
     * closes here): for models that run the UNet another way, such as through a cache session.
     */
    public static Latents forward(Latents x, ModelCall call, Conditioning cond, Function<UNetInputs, Tensor> unet) {
        if (cond.batchSize() != x.batch()) {
            throw new IllegalArgumentException("conditioning has " + cond.batchSize() + " items for a batch of " + x.batch());
        }
        Tensor ehs = null;
        Tensor labels = null;
        Tensor textEmbeds = null;
        Tensor timeIds = null;
        try (Tensor sample = Tensor.of(x.data(), x.shape())) {
            UNetInputs.Builder in = UNetInputs.builder(sample, Timestep.float64(call.timestep()));
            if (cond instanceof TextConditioning t) {
                ehs = Tensor.of(t.data(), t.shape());
                in.encoderHiddenStates(ehs);
            } else if (cond instanceof TextTimeConditioning tt) {
                ehs = Tensor.of(tt.text().data(), tt.text().shape());
                textEmbeds = Tensor.of(tt.textEmbeds(), tt.batchSize(), tt.pooledDim());
                timeIds = Tensor.of(tt.timeIds(), tt.batchSize(), tt.timeIdsDim());
                in.encoderHiddenStates(ehs).addedCond(textEmbeds, timeIds);
            } else if (cond instanceof ClassConditioning c) {
                float[] l = new float[c.labels().length];
                for (int i = 0; i < l.length; i++) l[i] = c.labels()[i];
                labels = Tensor.of(l, l.length);
                in.classLabels(labels);
            } else if (!(cond instanceof NoConditioning)) {
                throw new IllegalArgumentException("UNetDenoiser does not understand " + cond.getClass().getName());
            }
            try (Tensor out = unet.apply(in.build())) {
                long[] s = out.shape();
                int[] shape = new int[s.length];
                for (int i = 0; i < s.length; i++) shape[i] = Math.toIntExact(s[i]);
                return new Latents(out.toFloatArray(), shape);
            }
        } finally {
            if (ehs != null) ehs.close();
            if (labels != null) labels.close();
            if (textEmbeds != null) textEmbeds.close();
            if (timeIds != null) timeIds.close();
        }
    }
}
