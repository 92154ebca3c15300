package dev.unet4j.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.sse.SseClient;
import io.javalin.http.sse.SseHandler;

import java.util.Base64;
import java.util.concurrent.Semaphore;

/**
 * unet4j's own API. {@code POST /v1/generate} queues a request with every option the library has (sampler and
 * its eta, feature-cache policy, guidance, batch and iterations) and answers 202 with the job id;
 * {@code GET /v1/generate/{id}} reads its state and, when done, its images; {@code DELETE /v1/generate/{id}}
 * cancels it; {@code GET /v1/generate/{id}/events} streams server-sent events: {@code progress} after every step
 * (with a PNG preview of the current prediction unless {@code ?previews=false}), then one {@code done} (the
 * images) or {@code error}. A client that drops the event stream cancels the job at its next step. Streams
 * need {@code Accept: text/event-stream}; at most {@code maxStreams} are open at once.
 */
final class NativeRoutes {
    /** How long the event loop waits for news before a keep-alive comment (which also detects a gone client). */
    private static final long HEARTBEAT_MS = 1000;

    private final ModelRegistry models;
    private final GenerationQueue queue;
    private final RequestLimits limits;
    private final InitImageCheck initImages;
    /** Event streams open at once (each holds a thread while its job runs); more get 429. */
    private final int maxStreams;
    private final Semaphore streams;

    NativeRoutes(ModelRegistry models, GenerationQueue queue, RequestLimits limits, InitImageCheck initImages, int maxStreams) {
        this.models = models;
        this.queue = queue;
        this.limits = limits;
        this.initImages = initImages;
        this.maxStreams = maxStreams;
        this.streams = new Semaphore(maxStreams);
    }

    void register(RoutesConfig r) {
        r.post("/v1/generate", this::submit);
        r.get("/v1/generate/{id}", ctx -> Http.json(ctx, 200, describe(job(ctx), true)));
        r.delete("/v1/generate/{id}", ctx -> {
            Job j = job(ctx);
            j.cancel("cancelled by the client");
            Http.json(ctx, 200, describe(j, false));
        });
        r.get("/v1/generate/{id}/events", ctx -> {
            Job job = job(ctx); // 404 as JSON before the stream starts
            if (!streams.tryAcquire()) {
                throw new ApiException(429, null, "too many event streams open (" + maxStreams + ")",
                        java.util.Map.of("Retry-After", "2"));
            }
            boolean handed = false;
            try {
                new SseHandler(client -> {
                    try {
                        events(client, job);
                    } finally {
                        streams.release();
                    }
                }).handle(ctx);
                handed = true;
            } finally {
                if (!handed) streams.release();
            }
        });
    }

    /** Parses and validates a native request (also used by the web page). */
    ImageRequest parse(Fields f) {
        String model = f.string("model", models.defaultName(), 64);
        ImageBackend backend = models.get(model, "model");
        String prompt = limits.prompt(f, "prompt", true);
        String negative = limits.prompt(f, "negative_prompt", false);
        int[] size = limits.size(f, backend.info());
        int w = size[0];
        int h = size[1];
        String sampler = f.has("sampler") ? SamplerNames.resolve(f.string("sampler", null, 64), null, "sampler") : null;
        Double eta = f.has("eta") ? f.number("eta", 0, 0, 1) : null;
        int batch = limits.count(f, "batch_size");
        int iterations = limits.count(f, "n_iter");
        limits.images(batch, iterations, "batch_size");
        String cache = f.string("cache", null, 256);
        if (cache != null && (cache.isBlank() || cache.strip().equals("none"))) cache = null;
        byte[] init = f.has("init_image") ? limits.png(f.string("init_image", null, Integer.MAX_VALUE), "init_image") : null;
        double strength = f.number("strength", 0.75, 0, 1);
        if (init != null && strength == 0) throw ApiException.badField("strength", "must be > 0");
        ImageRequest req = new ImageRequest(model, prompt, negative, w, h, limits.steps(f, "steps"), f.number("guidance", Double.NaN, 0, 100),
                limits.seed(f, "seed"), sampler, eta, batch, iterations, cache, init, strength, promptSyntax(f));
        backend.validate(req);
        if (init != null) initImages.check(init, "init_image", w, h);
        return req;
    }

    /** {@code prompt_syntax}: truncate, long or weighted; null when absent. */
    private static dev.unet4j.pipeline.PromptSyntax promptSyntax(Fields f) {
        String s = f.string("prompt_syntax", null, 16);
        if (s == null) return null;
        for (dev.unet4j.pipeline.PromptSyntax p : dev.unet4j.pipeline.PromptSyntax.values()) {
            if (p.name().equalsIgnoreCase(s)) return p;
        }
        throw ApiException.badField("prompt_syntax", "must be truncate, long or weighted, got '" + s + "'");
    }

    private void submit(Context ctx) {
        ImageRequest req = parse(Fields.parse(Http.body(ctx)));
        Job job = queue.submit(models.get(req.model(), "model"), req);
        ObjectNode body = describe(job, false);
        body.put("seed", req.seed());
        body.put("events", "/v1/generate/" + job.id() + "/events");
        Http.json(ctx, 202, body);
    }

    private Job job(Context ctx) {
        Job j = queue.get(ctx.pathParam("id"));
        if (j == null) throw new ApiException(404, "id", "no generation " + ctx.pathParam("id") + " (unknown, or finished long ago)");
        return j;
    }

    private static ObjectNode describe(Job job, boolean images) {
        Job.Snapshot s = job.snapshot();
        ObjectNode o = progress(s, false);
        if (images && s.state() == Job.State.DONE) o.set("images", images(s));
        return o;
    }

    private static ObjectNode progress(Job.Snapshot s, boolean preview) {
        ObjectNode o = Http.object();
        o.put("id", s.id());
        o.put("state", s.state().name().toLowerCase());
        o.put("step", s.done());
        o.put("total", s.total());
        o.put("fraction", s.fraction());
        o.put("eta_seconds", s.etaSeconds());
        if (s.cancelReason() != null) o.put("cancel_reason", s.cancelReason());
        if (s.error() != null) o.put("error", s.error());
        if (preview && s.preview() != null) o.put("preview", "data:image/png;base64," + Base64.getEncoder().encodeToString(s.preview().get()));
        return o;
    }

    private static ArrayNode images(Job.Snapshot s) {
        ArrayNode a = Fields.JSON.createArrayNode();
        for (GeneratedImage g : s.images()) {
            ObjectNode i = a.addObject();
            i.put("b64_json", Base64.getEncoder().encodeToString(g.png()));
            i.put("seed", g.seed());
            i.put("width", g.width());
            i.put("height", g.height());
        }
        return a;
    }

    private void events(SseClient client, Job job) {
        boolean previews = !"false".equalsIgnoreCase(client.ctx().queryParam("previews"));
        try {
            Job.Snapshot s = job.snapshot();
            long sent = -1;
            while (!client.terminated()) {
                if (s.version() != sent) {
                    sent = s.version();
                    if (s.finished()) {
                        finish(client, s);
                        return;
                    }
                    client.sendEvent("progress", json(progress(s, previews)));
                } else {
                    client.sendComment("keep-alive"); // a write to a closed connection is how a gone client shows
                }
                s = job.awaitChange(sent, HEARTBEAT_MS);
            }
            job.cancel("client disconnected");
        } catch (InterruptedException e) {
            job.cancel("server stopping");
            Thread.currentThread().interrupt();
        } finally {
            client.close();
        }
    }

    private static void finish(SseClient client, Job.Snapshot s) {
        if (s.state() == Job.State.DONE) {
            ObjectNode done = progress(s, false);
            done.set("images", images(s));
            client.sendEvent("done", json(done));
        } else {
            ObjectNode err = progress(s, false);
            err.put("message", s.state() == Job.State.FAILED ? "generation failed: " + s.error()
                    : "the generation was stopped (" + s.cancelReason() + ")");
            client.sendEvent("error", json(err));
        }
    }

    private static String json(ObjectNode o) {
        return o.toString();
    }
}
