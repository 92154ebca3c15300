package dev.unet4j.pipeline;

import dev.unet4j.core.image.Image;
import dev.unet4j.samplers.Latents;

import java.util.List;

/**
 * What {@link StableDiffusion#generate} returns.
 *
 * @param pixels    the images as diffusers' {@code output_type="np"}: {@code [B, H, W, 3]} float32 in [0, 1]
 * @param images    the same as 8-bit RGB ({@code round(x * 255)}, diffusers' {@code numpy_to_pil}), ready for PNG
 * @param latents   the final latents {@code [B, 4, h, w]} (on the UNet's scale)
 * @param unetCalls UNet calls made (a guided evaluation is one batched call)
 * @param nanos     wall time of the whole generation (prompt encoding to decoded images)
 */
public record GeneratedImages(Latents pixels, List<Image> images, Latents latents, int unetCalls, long nanos) {
    public GeneratedImages {
        images = List.copyOf(images);
    }
}
