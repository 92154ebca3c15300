package dev.unet4j.server;

import java.util.List;

/**
 * A loaded model that turns requests into images. Implementations are thread-safe: one instance serves all
 * workers at once (the model is shared, every generation has its own session).
 */
public interface ImageBackend extends AutoCloseable {

    ModelInfo info();

    /**
     * Checks everything model-specific about {@code request} before any work; throws an {@link ApiException} (400)
     * naming the field.
     */
    void validate(ImageRequest request);

    /**
     * Generates {@code request.imageCount()} images in order (image i from seed + i).
     *
     * @throws dev.unet4j.samplers.SamplingCancelledException when {@code listener} returned false
     */
    List<GeneratedImage> generate(ImageRequest request, StepListener listener);

    @Override
    void close();
}
