package dev.unet4j.text;

import dev.unet4j.core.tensor.Tensor;

import java.util.List;

/**
 * transformers' {@code BaseModelOutputWithPooling} / {@code CLIPTextModelOutput} as float32 {@link Tensor}s owned by
 * the caller. {@link #close} closes every tensor in it: to keep one longer, copy it first
 * ({@code out.lastHiddenState().copy(Allocator.direct())}) or simply close the output later.
 *
 * @param lastHiddenState {@code [B, T, C]}: {@code final_layer_norm} of the last layer (SD 1.x/2.x
 *                        {@code prompt_embeds})
 * @param hiddenStates    {@code num_hidden_layers + 1} tensors {@code [B, T, C]}: index 0 the embeddings, index i the
 *                        output of layer i, all before {@code final_layer_norm} (SDXL feeds {@code hiddenStates[N-1]});
 *                        empty when not requested
 * @param pooledOutput    {@code [B, C]}: {@code lastHiddenState} at the pooling position (see
 *                        {@link ClipTextModel#poolingPosition})
 * @param textEmbeds      {@code [B, projection_dim]}: {@code text_projection(pooledOutput)} of a
 *                        {@code CLIPTextModelWithProjection} (SDXL's pooled {@code text_embeds}), else null
 */
public record ClipTextOutput(Tensor lastHiddenState, List<Tensor> hiddenStates, Tensor pooledOutput, Tensor textEmbeds)
        implements AutoCloseable {
    public ClipTextOutput {
        hiddenStates = List.copyOf(hiddenStates);
    }

    /** {@code hidden_states[index]}, Python-style: negative indices count from the end ({@code -2} = SDXL's). */
    public Tensor hiddenState(int index) {
        int n = hiddenStates.size();
        if (n == 0) throw new IllegalStateException("hidden states were not requested for this call");
        int i = index < 0 ? n + index : index;
        if (i < 0 || i >= n) throw new IndexOutOfBoundsException("hidden state " + index + " of " + n);
        return hiddenStates.get(i);
    }

    @Override
    public void close() {
        lastHiddenState.close();
        for (Tensor t : hiddenStates) t.close();
        pooledOutput.close();
        if (textEmbeds != null) textEmbeds.close();
    }
}
