package dev.unet4j.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;

import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * OpenAI-compatible routes: {@code GET /v1/models} and {@code POST /v1/images/generations} ({@code prompt},
 * {@code n}, {@code size} "WxH", {@code response_format} "b64_json", {@code model}; unet4j extras {@code steps},
 * {@code seed}, {@code guidance}, {@code sampler}, {@code negative_prompt}; other fields ignored).
 */
final class OpenAiRoutes {
    private static final Pattern SIZE = Pattern.compile("(\\d{1,5})x(\\d{1,5})");

    private final ModelRegistry models;
    private final GenerationQueue queue;
    private final RequestLimits limits;

    OpenAiRoutes(ModelRegistry models, GenerationQueue queue, RequestLimits limits) {
        this.models = models;
        this.queue = queue;
        this.limits = limits;
    }

    void register(RoutesConfig r) {
        r.get("/v1/models", this::models);
        r.post("/v1/images/generations", this::generations);
    }

    private void models(Context ctx) {
        ObjectNode body = Http.object();
        body.put("object", "list");
        ArrayNode data = body.putArray("data");
        for (ImageBackend b : models.all()) {
            ModelInfo i = b.info();
            ObjectNode m = data.addObject();
            m.put("id", i.name());
            m.put("object", "model");
            m.put("owned_by", "unet4j");
            m.set("unet4j", Fields.JSON.valueToTree(i));
        }
        Http.json(ctx, 200, body);
    }

    private void generations(Context ctx) {
        Fields f = Fields.parse(Http.body(ctx));
        String prompt = limits.prompt(f, "prompt", true);
        String model = f.string("model", models.defaultName(), 64);
        ImageBackend backend = models.get(model, "model");
        int n = limits.count(f, "n");
        String format = f.string("response_format", "b64_json", 32);
        if (!format.equals("b64_json")) {
            throw ApiException.badField("response_format", "only b64_json is served (this server keeps no files to link to), got '" + format + "'");
        }
        int w = 0;
        int h = 0;
        String size = f.string("size", null, 16);
        if (size != null && !size.equals("auto")) {
            Matcher m = SIZE.matcher(size);
            if (!m.matches()) throw ApiException.badField("size", "expected \"WxH\" such as \"512x512\", got \"" + size + "\"");
            w = Integer.parseInt(m.group(1));
            h = Integer.parseInt(m.group(2));
            limits.size(w, h, "size", "size");
        }
        String sampler = f.has("sampler") ? SamplerNames.resolve(f.string("sampler", null, 64), null, "sampler") : null;
        long seed = limits.seed(f, "seed");
        ImageRequest req = new ImageRequest(model, prompt, limits.prompt(f, "negative_prompt", false), w, h, limits.steps(f, "steps"),
                f.number("guidance", Double.NaN, 0, 100), seed, sampler, null, n, 1, null, null, 1.0);
        backend.validate(req);
        Job job = queue.submit(backend, req);
        List<GeneratedImage> images = Http.imagesOrThrow(Http.await(ctx, job));
        ObjectNode body = Http.object();
        body.put("created", System.currentTimeMillis() / 1000);
        ArrayNode data = body.putArray("data");
        for (GeneratedImage img : images) {
            ObjectNode d = data.addObject();
            d.put("b64_json", Base64.getEncoder().encodeToString(img.png()));
            d.put("seed", img.seed());
        }
        Http.json(ctx, 200, body);
    }
}
