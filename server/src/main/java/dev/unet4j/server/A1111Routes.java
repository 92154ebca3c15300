package dev.unet4j.server;

import dev.unet4j.samplers.SamplerEntry;
import dev.unet4j.samplers.Samplers;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;

import java.util.Base64;
import java.util.List;

/**
 * AUTOMATIC1111-compatible routes: {@code POST /sdapi/v1/txt2img} and {@code /sdapi/v1/img2img},
 * {@code GET /sdapi/v1/progress}, {@code POST /sdapi/v1/interrupt}, and the listings clients read first,
 * {@code GET /sdapi/v1/sd-models} and {@code /sdapi/v1/samplers}. The model is {@code override_settings.sd_model_checkpoint}
 * (or {@code model}), else the first registered one.
 */
final class A1111Routes {
    private final ModelRegistry models;
    private final GenerationQueue queue;
    private final RequestLimits limits;
    private final InitImageCheck initImages;

    A1111Routes(ModelRegistry models, GenerationQueue queue, RequestLimits limits, InitImageCheck initImages) {
        this.models = models;
        this.queue = queue;
        this.limits = limits;
        this.initImages = initImages;
    }

    void register(RoutesConfig r) {
        r.post("/sdapi/v1/txt2img", ctx -> generate(ctx, false));
        r.post("/sdapi/v1/img2img", ctx -> generate(ctx, true));
        r.get("/sdapi/v1/progress", this::progress);
        r.post("/sdapi/v1/interrupt", ctx -> {
            queue.interruptRunning();
            Http.json(ctx, 200, Http.object());
        });
        r.get("/sdapi/v1/sd-models", this::sdModels);
        r.get("/sdapi/v1/samplers", this::samplers);
    }

    private void generate(Context ctx, boolean img2img) {
        Fields f = Fields.parse(Http.body(ctx));
        String model = models.defaultName();
        if (f.has("model")) model = f.string("model", null, 64);
        if (f.has("override_settings")) {
            // only the checkpoint setting is read; other A1111 settings have no unet4j meaning
            String ck = f.child("override_settings").string("sd_model_checkpoint", null, 64);
            if (ck != null) model = ck;
        }
        ImageBackend backend = models.get(model, "sd_model_checkpoint");
        String prompt = limits.prompt(f, "prompt", true);
        String negative = limits.prompt(f, "negative_prompt", false);
        int steps = limits.steps(f, "steps");
        double cfg = f.number("cfg_scale", Double.NaN, 0, 100);
        int[] size = limits.size(f, backend.info());
        int w = size[0];
        int h = size[1];
        long seed = limits.seed(f, "seed");
        String sampler = f.has("sampler_name") || f.has("sampler_index")
                ? SamplerNames.resolve(f.has("sampler_name") ? f.string("sampler_name", null, 64) : f.string("sampler_index", null, 64),
                f.string("scheduler", null, 32), f.has("sampler_name") ? "sampler_name" : "sampler_index")
                : null;
        int batch = limits.count(f, "batch_size");
        int iterations = limits.count(f, "n_iter");
        limits.images(batch, iterations, "batch_size");
        byte[] init = null;
        double strength = 1.0;
        if (img2img) {
            List<String> images = f.strings("init_images", 1);
            if (images.isEmpty()) throw ApiException.badField("init_images", "img2img needs one base64 PNG");
            init = limits.png(images.get(0), "init_images[0]");
            strength = f.number("denoising_strength", 0.75, 0.0, 1.0);
            if (strength == 0) throw ApiException.badField("denoising_strength", "must be > 0");
        }
        ImageRequest req = new ImageRequest(model, prompt, negative, w, h, steps, cfg, seed, sampler, null, batch, iterations, null, init, strength);
        backend.validate(req);
        if (init != null) initImages.check(init, "init_images[0]", w, h);
        Job job = queue.submit(backend, req);
        List<GeneratedImage> out = Http.imagesOrThrow(Http.await(ctx, job));

        ModelInfo mi = backend.info();
        ObjectNode params = Http.object();
        params.put("prompt", prompt);
        params.put("negative_prompt", negative);
        params.put("steps", steps > 0 ? steps : mi.steps());
        params.put("cfg_scale", Double.isNaN(cfg) ? mi.guidance() : cfg);
        params.put("width", out.get(0).width());
        params.put("height", out.get(0).height());
        params.put("seed", seed);
        params.put("sampler_name", sampler != null ? sampler : mi.defaultSampler());
        params.put("batch_size", batch);
        params.put("n_iter", iterations);
        params.put("sd_model_checkpoint", model);
        if (img2img) params.put("denoising_strength", strength);
        ObjectNode info = params.deepCopy();
        ArrayNode all = info.putArray("all_seeds");
        ObjectNode body = Http.object();
        ArrayNode images = body.putArray("images");
        for (GeneratedImage g : out) {
            images.add(Base64.getEncoder().encodeToString(g.png()));
            all.add(g.seed());
        }
        body.set("parameters", params);
        try {
            body.put("info", Fields.JSON.writeValueAsString(info)); // A1111 sends info as a JSON string
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        Http.json(ctx, 200, body);
    }

    private void progress(Context ctx) {
        boolean skipImage = "true".equalsIgnoreCase(ctx.queryParam("skip_current_image"));
        Job job = queue.latest();
        ObjectNode body = Http.object();
        ObjectNode state = Http.object();
        Job.Snapshot s = job == null ? null : job.snapshot();
        boolean active = s != null && !s.finished();
        body.put("progress", active ? s.fraction() : 0.0);
        body.put("eta_relative", active && s.etaSeconds() >= 0 ? s.etaSeconds() : 0.0);
        state.put("skipped", false);
        state.put("interrupted", s != null && "interrupted".equals(s.cancelReason()));
        state.put("job", active ? s.id() : "");
        state.put("job_count", queue.running() + queue.queued());
        state.put("sampling_step", active ? s.done() : 0);
        state.put("sampling_steps", active ? s.total() : 0);
        body.set("state", state);
        if (!skipImage && active && s.preview() != null) body.put("current_image", Base64.getEncoder().encodeToString(s.preview().get()));
        else body.putNull("current_image");
        body.putNull("textinfo");
        Http.json(ctx, 200, body);
    }

    private void sdModels(Context ctx) {
        ArrayNode list = Fields.JSON.createArrayNode();
        for (ImageBackend b : models.all()) {
            ObjectNode m = list.addObject();
            m.put("title", b.info().name());
            m.put("model_name", b.info().name());
            m.putNull("hash");
            m.putNull("sha256");
            m.put("filename", b.info().name()); // the registry name: paths are never shown
            m.putNull("config");
        }
        Http.json(ctx, 200, list);
    }

    private void samplers(Context ctx) {
        ArrayNode list = Fields.JSON.createArrayNode();
        for (SamplerEntry s : Samplers.ALL) {
            if (s.aliases().isEmpty()) continue; // no A1111 name (the EDM samplers)
            ObjectNode m = list.addObject();
            m.put("name", s.aliases().get(0));
            m.putArray("aliases").add(s.name());
            m.putObject("options");
        }
        Http.json(ctx, 200, list);
    }
}
