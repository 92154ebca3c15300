package dev.unet4j.server;

import java.util.List;

/**
 * What a registered model is and takes, as {@code GET /v1/models} and the web page show it.
 *
 * @param name            registry name
 * @param kind            {@code class-conditional}, {@code text-to-image}
 * @param width           default width
 * @param height          default height
 * @param steps           default steps
 * @param guidance        default guidance scale
 * @param defaultSampler  the sampler used when a request names none
 * @param samplers        samplers it can run
 * @param img2img         whether it takes an init image
 * @param promptHint      how prompts are read
 */
public record ModelInfo(String name, String kind, int width, int height, int steps, double guidance,
                        String defaultSampler, List<String> samplers, boolean img2img, String promptHint) {
}
