package dev.unet4j.pipeline;

import dev.unet4j.core.image.Image;
import dev.unet4j.samplers.Latents;

import java.util.List;
import java.util.function.Function;

/**
 * One finished denoising step, as a {@link TextToImage.Progress} sees it.
 *
 * @param index     the step (0-based, of the steps this run executes)
 * @param total     steps this run executes
 * @param timestep  the step's timestep
 * @param latents   the latents after the step (do not modify)
 * @param predicted the step's prediction of the clean latents (do not modify), or null when the sampler has none
 */
public record StepProgress(int index, int total, double timestep, Latents latents, Latents predicted,
                           Function<Latents, List<Image>> decoder) {

    /**
     * The picture the step's clean-latent prediction decodes to (one VAE decode of a small batch; the final
     * latents where the sampler gives no prediction). Call it only on the steps you show.
     */
    public List<Image> preview() {
        return decoder.apply(predicted != null ? predicted : latents);
    }
}
