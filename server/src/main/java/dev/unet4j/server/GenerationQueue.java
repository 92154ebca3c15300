package dev.unet4j.server;

import dev.unet4j.samplers.SamplingCancelledException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fixed pool of worker threads with a bounded queue in front: a job that finds the queue full is refused with a
 * 429 and {@code Retry-After}, never kept in an unbounded backlog. Jobs are looked up by id for progress and
 * events; finished ones are forgotten oldest first beyond {@link #HISTORY}.
 */
public final class GenerationQueue implements AutoCloseable {
    /** Finished jobs kept for late readers (/v1/generate/{id}). */
    static final int HISTORY = 64;
    private static final Logger LOG = LoggerFactory.getLogger(GenerationQueue.class);

    private final ThreadPoolExecutor pool;
    private final ServerConfig config;
    private final ServerMetrics metrics;
    private final Map<String, Job> jobs = new ConcurrentHashMap<>();
    private final Deque<String> finished = new ArrayDeque<>();
    private final AtomicInteger busy = new AtomicInteger();
    private volatile Job latest;

    GenerationQueue(ServerConfig config) {
        this.config = config;
        BlockingQueue<Runnable> q = config.queueCapacity() == 0 ? new SynchronousQueue<>() : new ArrayBlockingQueue<>(config.queueCapacity());
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(config.workers(), config.workers(), 0, TimeUnit.SECONDS, q, r -> {
            Thread t = new Thread(r, "unet4j-worker-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.metrics = new ServerMetrics(() -> pool.getQueue().size(), busy::get);
    }

    ServerMetrics metrics() {
        return metrics;
    }

    /** Queues a validated request; 429 when the queue is full. */
    Job submit(ImageBackend backend, ImageRequest request) {
        Job job = new Job(UUID.randomUUID().toString(), backend, request, config.timeout().toNanos());
        jobs.put(job.id(), job);
        try {
            pool.execute(new Task(job));
        } catch (RejectedExecutionException e) {
            jobs.remove(job.id());
            metrics.outcome("rejected").increment();
            throw new ApiException(429, null, "the generation queue is full (" + config.workers() + " running, "
                    + config.queueCapacity() + " waiting); retry later", Map.of("Retry-After", Integer.toString(config.retryAfterSeconds())));
        }
        return job;
    }

    /** A queued job; the queue holds these, so a worker can take compatible ones out for its batch. */
    private final class Task implements Runnable {
        final Job job;

        Task(Job job) {
            this.job = job;
        }

        @Override
        public void run() {
            GenerationQueue.this.run(job);
        }
    }

    private void run(Job job) {
        if (job.shouldStop()) { // cancelled while queued: never starts
            end(job, job::cancelled, "cancelled");
            return;
        }
        List<Job> batch = config.batchWindow().isZero() ? List.of(job) : gather(job);
        if (batch.size() > 1) {
            runBatch(batch);
            return;
        }
        busy.incrementAndGet();
        latest = job;
        job.started();
        long t0 = System.nanoTime();
        long[] last = {t0};
        try {
            List<GeneratedImage> images = job.backend().generate(job.request(), (done, total, preview) -> {
                long now = System.nanoTime();
                metrics.step(now - last[0]);
                last[0] = now;
                job.progress(done, total, preview);
                return !job.shouldStop();
            });
            metrics.generation(System.nanoTime() - t0, images.size());
            end(job, () -> job.finished(images), "ok");
        } catch (SamplingCancelledException e) {
            end(job, job::cancelled, "cancelled");
        } catch (ApiException e) {
            end(job, () -> job.failed(e.getMessage()), "failed");
        } catch (RuntimeException | Error e) {
            LOG.error("generation {} failed", job.id(), e);
            end(job, () -> job.failed(e.toString()), "failed");
        } finally {
            busy.decrementAndGet();
        }
    }

    /**
     * {@code first} and the queued jobs that can share its UNet batch, taken out of the queue (at most
     * {@code maxImages} images). Waits up to the batch window for more only while other requests are in flight, so
     * a lone request is never delayed.
     */
    private List<Job> gather(Job first) {
        List<Job> batch = new ArrayList<>(List.of(first));
        ImageBackend backend = first.backend();
        int images = first.request().imageCount();
        long end = System.nanoTime() + config.batchWindow().toNanos();
        boolean wait = !pool.getQueue().isEmpty() || busy.get() > 0;
        while (images < config.maxImages()) {
            for (Runnable r : pool.getQueue().toArray(Runnable[]::new)) {
                if (!(r instanceof Task t) || t.job.backend() != backend || t.job.shouldStop()) continue;
                int n = t.job.request().imageCount();
                if (images + n > config.maxImages() || !backend.batchable(first.request(), t.job.request())) continue;
                if (pool.getQueue().remove(t)) { // the worker that removes it owns it
                    batch.add(t.job);
                    images += n;
                }
            }
            if (!wait || System.nanoTime() - end >= 0 || images >= config.maxImages()) break;
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return batch;
    }

    private void runBatch(List<Job> batch) {
        busy.incrementAndGet();
        long t0 = System.nanoTime();
        long[] last = {t0};
        List<StepListener> listeners = new ArrayList<>();
        for (int k = 0; k < batch.size(); k++) {
            Job j = batch.get(k);
            j.started();
            latest = j;
            boolean timed = k == 0; // one batch step is one step of every member: timed once
            listeners.add((done, total, preview) -> {
                if (timed) {
                    long now = System.nanoTime();
                    metrics.step(now - last[0]);
                    last[0] = now;
                }
                j.progress(done, total, preview);
                return !j.shouldStop();
            });
        }
        metrics.batch(batch.size());
        try {
            List<List<GeneratedImage>> results = batch.get(0).backend().generateBatch(batch.stream().map(Job::request).toList(), listeners);
            long nanos = System.nanoTime() - t0;
            for (int k = 0; k < batch.size(); k++) {
                Job j = batch.get(k);
                List<GeneratedImage> images = results.get(k);
                if (j.shouldStop()) {
                    end(j, j::cancelled, "cancelled");
                } else {
                    metrics.generation(nanos, images.size());
                    end(j, () -> j.finished(images), "ok");
                }
            }
        } catch (SamplingCancelledException e) {
            batch.forEach(j -> end(j, j::cancelled, "cancelled"));
        } catch (RuntimeException | Error e) {
            LOG.error("batched generation of {} requests failed", batch.size(), e);
            batch.forEach(j -> end(j, () -> j.failed(e.toString()), "failed"));
        } finally {
            busy.decrementAndGet();
        }
    }

    private void end(Job job, Runnable mark, String outcome) {
        mark.run();
        metrics.outcome(outcome).increment();
        synchronized (finished) {
            finished.addLast(job.id());
            while (finished.size() > HISTORY) jobs.remove(finished.removeFirst());
        }
    }

    /** The job with this id, or null. */
    Job get(String id) {
        return jobs.get(id);
    }

    /** The job that started last (A1111's "current" job), or null. */
    Job latest() {
        return latest;
    }

    /** Cancels every running job (A1111 interrupt); returns how many. */
    int interruptRunning() {
        int n = 0;
        for (Job j : jobs.values()) {
            if (j.snapshot().state() == Job.State.RUNNING) {
                j.cancel("interrupted");
                n++;
            }
        }
        return n;
    }

    int queued() {
        return pool.getQueue().size();
    }

    int running() {
        return busy.get();
    }

    @Override
    public void close() {
        jobs.values().forEach(j -> j.cancel("server stopping"));
        pool.shutdown();
        try {
            if (!pool.awaitTermination(30, TimeUnit.SECONDS)) pool.shutdownNow();
        } catch (InterruptedException e) {
            pool.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
