package dev.unet4j.server;

import dev.unet4j.core.tensor.NativeBuffer;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;
import java.util.function.Supplier;

/**
 * The server's Prometheus metrics (Micrometer): {@code unet4j_queue_length}, {@code unet4j_workers_busy},
 * {@code unet4j_generations_total{outcome}}, {@code unet4j_images_total}, {@code unet4j_step_seconds},
 * {@code unet4j_generation_seconds}, {@code unet4j_batch_requests} (requests per batched call) and
 * {@code unet4j_native_memory_bytes} (live native tensor memory).
 */
public final class ServerMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Timer step;
    private final Timer generation;
    private final Counter images;
    private final io.micrometer.core.instrument.DistributionSummary batches;

    ServerMetrics(Supplier<Number> queueLength, Supplier<Number> busyWorkers) {
        Gauge.builder("unet4j.queue.length", queueLength).description("generations waiting for a worker").register(registry);
        Gauge.builder("unet4j.workers.busy", busyWorkers).description("generations running").register(registry);
        Gauge.builder("unet4j.native.memory", NativeBuffer::liveBytes).baseUnit("bytes")
                .description("native tensor memory alive in this JVM").register(registry);
        step = Timer.builder("unet4j.step").description("one sampler step").register(registry);
        generation = Timer.builder("unet4j.generation").description("one request's generation, queue excluded").register(registry);
        images = Counter.builder("unet4j.images").description("images generated").register(registry);
        batches = io.micrometer.core.instrument.DistributionSummary.builder("unet4j.batch.requests")
                .description("requests run together in one batched UNet call (request batching)").register(registry);
        for (String o : new String[] {"ok", "cancelled", "failed", "rejected"}) outcome(o);
    }

    Counter outcome(String outcome) {
        return Counter.builder("unet4j.generations").tag("outcome", outcome).description("requests by outcome").register(registry);
    }

    void step(long nanos) {
        step.record(Duration.ofNanos(nanos));
    }

    void generation(long nanos, int imageCount) {
        generation.record(Duration.ofNanos(nanos));
        images.increment(imageCount);
    }

    void batch(int requests) {
        batches.record(requests);
    }

    /** The Prometheus text exposition. */
    public String scrape() {
        return registry.scrape();
    }
}
