package dev.unet4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every route's happy path; images compared byte for byte with the library called directly. */
class RoutesTest {
    static ServerHarness h;
    static ServerHarness.Library lib;

    @BeforeAll
    static void start() throws Exception {
        h = new ServerHarness(ServerHarness.config());
        lib = new ServerHarness.Library();
    }

    @AfterAll
    static void stop() {
        h.close();
        lib.close();
    }

    @Test
    void healthz() throws Exception {
        HttpResponse<String> r = h.get("/healthz");
        assertEquals(200, r.statusCode());
        JsonNode j = ServerHarness.json(r);
        assertEquals("ok", j.get("status").asText());
        assertEquals(ServerHarness.MODEL, j.get("models").get(0).asText());
        assertEquals(2, j.get("workers").asInt());
        assertEquals(8, j.get("queue_capacity").asInt());
    }

    @Test
    void modelsListsTheRegistryWithItsDefaults() throws Exception {
        HttpResponse<String> r = h.get("/v1/models");
        assertEquals(200, r.statusCode());
        JsonNode j = ServerHarness.json(r);
        assertEquals("list", j.get("object").asText());
        assertEquals(1, j.get("data").size());
        JsonNode m = j.get("data").get(0);
        assertEquals(ServerHarness.MODEL, m.get("id").asText());
        assertEquals("model", m.get("object").asText());
        // the demo config's sample_size and scheduler (shared/models/README.md): 16x16, DDIMScheduler
        assertEquals(16, m.get("unet4j").get("width").asInt());
        assertEquals("ddim", m.get("unet4j").get("defaultSampler").asText());
        assertEquals(1.5, m.get("unet4j").get("guidance").asDouble());
        assertFalse(m.get("unet4j").get("img2img").asBoolean());
    }

    @Test
    void openAiGenerationsEqualTheLibraryPerSeed() throws Exception {
        HttpResponse<String> r = h.post("/v1/images/generations", ServerHarness.body(Map.of("prompt", "a handwritten seven", "n", 2,
                "size", "16x16", "response_format", "b64_json", "seed", 5, "steps", 8, "quality", "hd", "style", "vivid")));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode data = ServerHarness.json(r).get("data");
        assertEquals(2, data.size());
        for (int i = 0; i < 2; i++) {
            assertEquals(5 + i, data.get(i).get("seed").asLong());
            assertArrayEquals(lib.png(7, 5 + i, 8, 1.5, "ddim", 16), ServerHarness.b64(data.get(i).get("b64_json")), "image " + i);
        }
    }

    @Test
    void txt2imgEchoesParametersAndEqualsTheLibrary() throws Exception {
        HttpResponse<String> r = h.post("/sdapi/v1/txt2img", ServerHarness.body(Map.of("prompt", "3", "negative_prompt", "", "steps", 10,
                "cfg_scale", 2.0, "width", 24, "height", 24, "seed", 1234, "sampler_name", "Euler a", "batch_size", 2, "n_iter", 2)));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode j = ServerHarness.json(r);
        JsonNode p = j.get("parameters");
        assertEquals(1234, p.get("seed").asLong());
        assertEquals("euler-ancestral", p.get("sampler_name").asText());
        assertEquals(24, p.get("width").asInt());
        JsonNode info = Fields.JSON.readTree(j.get("info").asText());
        assertEquals(List.of(1234L, 1235L, 1236L, 1237L), longs(info.get("all_seeds")));
        assertEquals(4, j.get("images").size());
        for (int i = 0; i < 4; i++) {
            assertArrayEquals(lib.png(3, 1234 + i, 10, 2.0, "euler-ancestral", 24), ServerHarness.b64(j.get("images").get(i)), "image " + i);
        }
    }

    @Test
    void randomSeedIsEchoedAndReproduces() throws Exception {
        HttpResponse<String> r = h.post("/sdapi/v1/txt2img", "{\"prompt\":\"five\",\"seed\":-1,\"steps\":6}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode j = ServerHarness.json(r);
        long seed = j.get("parameters").get("seed").asLong();
        assertTrue(seed >= 0 && seed <= RequestLimits.MAX_SEED, "seed " + seed);
        assertEquals(seed, Fields.JSON.readTree(j.get("info").asText()).get("seed").asLong());
        assertArrayEquals(lib.png(5, seed, 6, 1.5, "ddim", 16), ServerHarness.b64(j.get("images").get(0)));
    }

    @Test
    void a1111ListingsAndProgressWhenIdle() throws Exception {
        JsonNode models = ServerHarness.json(h.get("/sdapi/v1/sd-models"));
        assertEquals(ServerHarness.MODEL, models.get(0).get("model_name").asText());
        JsonNode samplers = ServerHarness.json(h.get("/sdapi/v1/samplers"));
        List<String> names = new ArrayList<>();
        samplers.forEach(s -> names.add(s.get("name").asText()));
        assertTrue(names.containsAll(List.of("DDIM", "Euler a", "DPM++ 2M Karras")), names.toString());
        JsonNode p = ServerHarness.json(h.get("/sdapi/v1/progress"));
        assertEquals(0.0, p.get("progress").asDouble());
        assertEquals(0, p.get("state").get("sampling_steps").asInt());
        assertTrue(p.get("current_image").isNull());
    }

    @Test
    void overrideSettingsPicksTheModel() throws Exception {
        HttpResponse<String> r = h.post("/sdapi/v1/txt2img",
                "{\"prompt\":\"1\",\"seed\":9,\"steps\":4,\"override_settings\":{\"sd_model_checkpoint\":\"demo-digits\"}}");
        assertEquals(200, r.statusCode(), r.body());
        assertArrayEquals(lib.png(1, 9, 4, 1.5, "ddim", 16), ServerHarness.b64(ServerHarness.json(r).get("images").get(0)));
    }

    @Test
    void nativeGenerateStreamsEveryStepThenTheImages() throws Exception {
        HttpResponse<String> r = h.post("/v1/generate", "{\"prompt\":\"8\",\"seed\":77,\"steps\":12,\"sampler\":\"dpmpp-2m\",\"guidance\":1.5}");
        assertEquals(202, r.statusCode(), r.body());
        JsonNode j = ServerHarness.json(r);
        String id = j.get("id").asText();
        assertEquals(77, j.get("seed").asLong());
        List<SseEvents.Event> events = SseEvents.read(h, j.get("events").asText());
        List<Integer> steps = new ArrayList<>();
        for (SseEvents.Event e : events) if (e.name().equals("progress") && e.data().get("state").asText().equals("running")) steps.add(e.data().get("step").asInt());
        // progress moves forward; the stream sends the latest state, so it may skip steps (and the last) when busy
        for (int i = 1; i < steps.size(); i++) assertTrue(steps.get(i) > steps.get(i - 1), steps.toString());
        assertTrue(steps.size() >= 2 && steps.get(steps.size() - 1) <= 12, steps.toString());
        SseEvents.Event last = events.get(events.size() - 1);
        assertEquals("done", last.name());
        byte[] png = ServerHarness.b64(last.data().get("images").get(0).get("b64_json"));
        assertArrayEquals(lib.png(8, 77, 12, 1.5, "dpmpp-2m", 16), png);
        // the finished job stays readable
        JsonNode status = ServerHarness.json(h.get("/v1/generate/" + id));
        assertEquals("done", status.get("state").asText());
        assertArrayEquals(png, ServerHarness.b64(status.get("images").get(0).get("b64_json")));
    }

    @Test
    void nativeCacheOptionRuns() throws Exception {
        List<SseEvents.Event> events = SseEvents.generate(h, "{\"prompt\":\"4\",\"seed\":3,\"steps\":10,\"cache\":\"deepcache:interval=2\"}");
        SseEvents.Event last = events.get(events.size() - 1);
        // the library's own DeepCache run, and (DeepCache reuses deep features) not the plain run
        byte[] cached = ServerHarness.b64(last.data().get("images").get(0).get("b64_json"));
        assertArrayEquals(lib.png(4, 3, 10, 1.5, "ddim", 16, "deepcache:interval=2"), cached);
        assertFalse(java.util.Arrays.equals(lib.png(4, 3, 10, 1.5, "ddim", 16), cached));
    }

    @Test
    void metricsExposeQueueGenerationsStepTimeAndNativeMemory() throws Exception {
        h.post("/sdapi/v1/txt2img", "{\"prompt\":\"2\",\"seed\":1,\"steps\":3}");
        HttpResponse<String> r = h.get("/metrics");
        assertEquals(200, r.statusCode());
        String text = r.body();
        for (String name : List.of("unet4j_queue_length ", "unet4j_workers_busy ", "unet4j_native_memory_bytes ",
                "unet4j_generations_total{outcome=\"ok\"}", "unet4j_step_seconds_count ", "unet4j_generation_seconds_count ", "unet4j_images_total ")) {
            assertTrue(text.contains(name), name + " missing from\n" + text);
        }
        assertTrue(value(text, "unet4j_step_seconds_count ") >= 3, text);
        assertTrue(value(text, "unet4j_native_memory_bytes ") > 0, text); // the loaded weights
    }

    @Test
    void webPageIsServed() throws Exception {
        HttpResponse<String> r = h.get("/");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/html"));
        assertTrue(r.body().contains("id=\"generate\""));
        assertEquals(200, h.get("/app.js").statusCode());
    }

    static double value(String metrics, String prefix) {
        for (String line : metrics.split("\n")) if (line.startsWith(prefix)) return Double.parseDouble(line.substring(prefix.length()).trim());
        throw new AssertionError(prefix + " not found");
    }

    private static List<Long> longs(JsonNode a) {
        List<Long> l = new ArrayList<>();
        a.forEach(n -> l.add(n.asLong()));
        return l;
    }
}
