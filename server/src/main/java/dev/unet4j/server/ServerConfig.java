package dev.unet4j.server;

import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * Server settings; {@link #defaults()} documents each default.
 *
 * @param host            bind address (default 127.0.0.1: loopback only)
 * @param port            TCP port (default 7860, A1111's; 0 = any free port)
 * @param workers         generations run at once (default: cores / OMP_NUM_THREADS, at least 1; each generation
 *                        already uses the intra-op threads)
 * @param queueCapacity   generations waiting for a worker before new ones get 429 (default 16)
 * @param maxBodyBytes    request body limit, checked before parsing (default 16 MiB; 413 above)
 * @param maxImageBytes   decoded size limit of one base64 init image (default 8 MiB)
 * @param maxPixels       width x height limit (default 1024 x 1024)
 * @param maxSteps        sampler steps limit (default 150)
 * @param maxPromptChars  prompt and negative prompt length limit (default 2,000 characters)
 * @param maxImages       images per request (batch_size x n_iter) limit (default 16)
 * @param timeout         a generation still running after this is cancelled at its next step (default 10 minutes)
 * @param apiKeys         accepted {@code Authorization: Bearer} keys; empty = no authentication (default)
 * @param corsOrigins     origins allowed by CORS; empty = CORS off (default)
 * @param retryAfterSeconds the {@code Retry-After} of a 429 (default 2)
 * @param batchWindow     request batching (default off, zero): a worker starting a job also takes the compatible jobs
 *                        waiting in the queue (same model, size, steps, sampler, guidance) into one UNet batch, and
 *                        when other requests are in flight waits up to this long for more; up to {@code maxImages}
 *                        images per batch
 * @param decodeBudgetBytes heap that uploaded images being decoded at once may take (default a quarter of the maximum
 *                        heap); it sets how many decodes run together ({@link DecodeSlots}), at least one
 */
public record ServerConfig(String host, int port, int workers, int queueCapacity, long maxBodyBytes, long maxImageBytes,
                           long maxPixels, int maxSteps, int maxPromptChars, int maxImages, Duration timeout,
                           Set<String> apiKeys, List<String> corsOrigins, int retryAfterSeconds, Duration batchWindow,
                           long decodeBudgetBytes) {

    public ServerConfig {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be 0..65535, got " + port);
        if (workers < 1) throw new IllegalArgumentException("workers must be >= 1, got " + workers);
        if (queueCapacity < 0) throw new IllegalArgumentException("queue capacity must be >= 0, got " + queueCapacity);
        if (maxBodyBytes < 1024 || maxImageBytes < 1 || maxPixels < 64 || maxSteps < 1 || maxPromptChars < 1 || maxImages < 1) {
            throw new IllegalArgumentException("limits must be positive (body >= 1024 bytes, pixels >= 64)");
        }
        if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("timeout must be positive");
        if (batchWindow.isNegative()) throw new IllegalArgumentException("batch window must be >= 0");
        if (decodeBudgetBytes < 1) throw new IllegalArgumentException("decode budget must be >= 1 byte, got " + decodeBudgetBytes);
        apiKeys = Set.copyOf(apiKeys);
        corsOrigins = List.copyOf(corsOrigins);
    }

    public static ServerConfig defaults() {
        return new ServerConfig("127.0.0.1", 7860, defaultWorkers(), 16, 16L << 20, 8L << 20, 1024L * 1024, 150, 2000, 16,
                Duration.ofMinutes(10), Set.of(), List.of(), 2, Duration.ZERO, Runtime.getRuntime().maxMemory() / 4);
    }

    /** Cores divided by the OpenMP threads one generation uses ({@code OMP_NUM_THREADS}, default all cores). */
    public static int defaultWorkers() {
        int cores = Runtime.getRuntime().availableProcessors();
        int omp = cores;
        String env = System.getenv("OMP_NUM_THREADS");
        if (env != null) {
            try {
                omp = Math.max(1, Integer.parseInt(env.strip()));
            } catch (NumberFormatException ignored) {
                // a malformed value is oneDNN's problem to report; size as if unset
            }
        }
        return Math.max(1, cores / Math.min(omp, cores));
    }

    public ServerConfig withHost(String h) {
        return new ServerConfig(h, port, workers, queueCapacity, maxBodyBytes, maxImageBytes, maxPixels, maxSteps, maxPromptChars, maxImages, timeout, apiKeys, corsOrigins, retryAfterSeconds, batchWindow, decodeBudgetBytes);
    }

    public ServerConfig withPort(int p) {
        return new ServerConfig(host, p, workers, queueCapacity, maxBodyBytes, maxImageBytes, maxPixels, maxSteps, maxPromptChars, maxImages, timeout, apiKeys, corsOrigins, retryAfterSeconds, batchWindow, decodeBudgetBytes);
    }

    public ServerConfig withWorkers(int w, int queue) {
        return new ServerConfig(host, port, w, queue, maxBodyBytes, maxImageBytes, maxPixels, maxSteps, maxPromptChars, maxImages, timeout, apiKeys, corsOrigins, retryAfterSeconds, batchWindow, decodeBudgetBytes);
    }

    public ServerConfig withLimits(long body, long image, long pixels, int steps, int promptChars, int images) {
        return new ServerConfig(host, port, workers, queueCapacity, body, image, pixels, steps, promptChars, images, timeout, apiKeys, corsOrigins, retryAfterSeconds, batchWindow, decodeBudgetBytes);
    }

    public ServerConfig withTimeout(Duration t) {
        return new ServerConfig(host, port, workers, queueCapacity, maxBodyBytes, maxImageBytes, maxPixels, maxSteps, maxPromptChars, maxImages, t, apiKeys, corsOrigins, retryAfterSeconds, batchWindow, decodeBudgetBytes);
    }

    public ServerConfig withApiKeys(Set<String> keys) {
        return new ServerConfig(host, port, workers, queueCapacity, maxBodyBytes, maxImageBytes, maxPixels, maxSteps, maxPromptChars, maxImages, timeout, keys, corsOrigins, retryAfterSeconds, batchWindow, decodeBudgetBytes);
    }

    public ServerConfig withCorsOrigins(List<String> origins) {
        return new ServerConfig(host, port, workers, queueCapacity, maxBodyBytes, maxImageBytes, maxPixels, maxSteps, maxPromptChars, maxImages, timeout, apiKeys, origins, retryAfterSeconds, batchWindow, decodeBudgetBytes);
    }

    public ServerConfig withBatchWindow(Duration window) {
        return new ServerConfig(host, port, workers, queueCapacity, maxBodyBytes, maxImageBytes, maxPixels, maxSteps, maxPromptChars, maxImages, timeout, apiKeys, corsOrigins, retryAfterSeconds, window, decodeBudgetBytes);
    }

    public ServerConfig withDecodeBudget(long bytes) {
        return new ServerConfig(host, port, workers, queueCapacity, maxBodyBytes, maxImageBytes, maxPixels, maxSteps, maxPromptChars, maxImages, timeout, apiKeys, corsOrigins, retryAfterSeconds, batchWindow, bytes);
    }
}
