package dev.unet4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unet4j.caching.CachePolicies;
import dev.unet4j.core.image.Image;
import dev.unet4j.core.image.PngWriter;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.pipeline.denoising.CachedRunModel;
import dev.unet4j.pipeline.denoising.Generation;
import dev.unet4j.pipeline.denoising.Pipeline;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.NoiseSource;
import dev.unet4j.samplers.SamplerOptions;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.UNetModel;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A server over the demo model (digits-16 from the shared models) and an HTTP client for it. */
final class ServerHarness implements AutoCloseable {
    static final String MODEL = "demo-digits";
    /** The demo model's recommended guidance and null class (shared/models/README.md). */
    static final double GUIDANCE = 1.5;
    static final int NULL_CLASS = 10;

    final ModelRegistry models;
    final UnetServer server;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    ServerHarness(ServerConfig config) throws IOException {
        this(config, List.of(backend()));
    }

    ServerHarness(ServerConfig config, List<ImageBackend> backends) {
        this.models = ModelRegistry.of(backends);
        this.server = UnetServer.start(config.withHost("127.0.0.1").withPort(0), models);
    }

    static ServerConfig config() {
        return ServerConfig.defaults().withWorkers(2, 8);
    }

    static Path demoDir() {
        return Fixtures.model("digits-16");
    }

    static ClassConditionalBackend backend() throws IOException {
        return ClassConditionalBackend.load(new ModelSpec(MODEL, demoDir(), NULL_CLASS, GUIDANCE, 0, null));
    }

    URI uri(String path) {
        return server.uri().resolve(path);
    }

    HttpResponse<String> get(String path, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(60)).GET();
        if (headers.length > 0) b.headers(headers);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> post(String path, String json, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(120))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json));
        if (headers.length > 0) b.headers(headers);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode json(HttpResponse<String> r) throws IOException {
        return Fields.JSON.readTree(r.body());
    }

    /** Asserts a JSON error response with this status naming this field. */
    static JsonNode assertError(HttpResponse<String> r, int status, String param) throws IOException {
        assertEquals(status, r.statusCode(), r.body());
        JsonNode e = json(r).get("error");
        assertEquals(status, e.get("code").asInt(), r.body());
        if (param == null) assertEquals(true, e.get("param").isNull(), r.body());
        else assertEquals(param, e.get("param").asText(), r.body());
        return e;
    }

    static byte[] b64(JsonNode n) {
        return Base64.getDecoder().decode(n.asText());
    }

    static String body(Map<String, Object> fields) {
        try {
            return Fields.JSON.writeValueAsString(fields);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } finally {
            models.close();
        }
    }

    /**
     * The truth for a generated image: the library called directly, as {@code unet4j generate --class-label K
     * --seed S} does (one generator for the batch-1 run, DDIM unless named, guidance with the null class), on its
     * own model instance, encoded with the core PNG writer.
     */
    static final class Library implements AutoCloseable {
        final DnnlKernels kernels = new DnnlKernels(DnnlKernels.Options.exact());
        final UNetModel unet;
        final SchedulerConfig cfg;

        Library() throws IOException {
            unet = UNetModel.load(demoDir(), LoadOptions.of(kernels));
            cfg = SchedulerConfig.load(demoDir().resolve("scheduler_config.json"));
        }

        byte[] png(int label, long seed, int steps, double guidance, String sampler, int size) {
            return png(label, seed, steps, guidance, sampler, size, null);
        }

        /** @param cache a caching-module policy spec, or null */
        byte[] png(int label, long seed, int steps, double guidance, String sampler, int size, String cache) {
            Pipeline p = Pipeline.of(unet, Samplers.byName(sampler, SamplerOptions.of(cfg)));
            if (cache != null) p = p.withRunModel(CachedRunModel.factory(CachePolicies.parse(cache)));
            Generation g = Generation.of(steps).size(size, size).noise(NoiseSource.seeded(seed), 1).classes(label);
            if (guidance > 1) g = g.guidance(guidance, NULL_CLASS);
            Latents x = p.generate(g).latents();
            return PngWriter.encode(Image.fromSignedUnit(x.data(), x.shape(), 0));
        }

        @Override
        public void close() {
            unet.close();
            kernels.close();
        }
    }
}
