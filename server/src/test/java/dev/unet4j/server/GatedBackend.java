package dev.unet4j.server;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The real demo backend, held after its first step until {@link #open()} — so tests can keep workers busy for as
 * long as they need, deterministically. While held it keeps asking the server's listener whether to go on, so a
 * cancel still stops it at that step.
 */
final class GatedBackend implements ImageBackend {
    private final ImageBackend real;
    private final CountDownLatch gate = new CountDownLatch(1);

    GatedBackend(ImageBackend real) {
        this.real = real;
    }

    void open() {
        gate.countDown();
    }

    @Override
    public ModelInfo info() {
        return real.info();
    }

    @Override
    public void validate(ImageRequest request) {
        real.validate(request);
    }

    @Override
    public List<GeneratedImage> generate(ImageRequest request, StepListener listener) {
        return real.generate(request, held(listener));
    }

    @Override
    public boolean batchable(ImageRequest a, ImageRequest b) {
        return real.batchable(a, b);
    }

    @Override
    public List<List<GeneratedImage>> generateBatch(List<ImageRequest> requests, List<StepListener> listeners) {
        return real.generateBatch(requests, listeners.stream().map(this::held).toList());
    }

    private StepListener held(StepListener listener) {
        return (done, total, preview) -> {
            try {
                while (!gate.await(20, TimeUnit.MILLISECONDS)) {
                    if (!listener.onStep(done, total, preview)) return false;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            return listener.onStep(done, total, preview);
        };
    }

    @Override
    public void close() {
        real.close();
    }
}
