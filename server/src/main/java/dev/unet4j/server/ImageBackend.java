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

    /**
     * Whether {@code a} and {@code b} (both validated) can run as one batched UNet call with the same result for each
     * as alone. Default: never.
     */
    default boolean batchable(ImageRequest a, ImageRequest b) {
        return false;
    }

    /**
     * Runs {@link #batchable} requests as one batch; result i belongs to request i. Listener i returning false
     * cancels request i only (its images are still made; the caller drops them); the run stops when every listener
     * has returned false.
     */
    default List<List<GeneratedImage>> generateBatch(List<ImageRequest> requests, List<StepListener> listeners) {
        throw new UnsupportedOperationException(info().name() + " does not batch requests");
    }

    @Override
    void close();
}
