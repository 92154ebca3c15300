package dev.unet4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unet4j.core.image.Image;
import dev.unet4j.core.image.PngReader;
import dev.unet4j.core.image.PngWriter;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.pipeline.PipelineOptions;
import dev.unet4j.pipeline.StableDiffusion;
import dev.unet4j.pipeline.TextToImage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static dev.unet4j.server.ServerHarness.assertError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The text-to-image demo (digits-text-32, a StableDiffusionPipeline folder) behind the same routes: text prompts,
 * negative prompts, img2img; every image byte-equal to {@link StableDiffusion} called directly on its own instance.
 */
class StableDiffusionRoutesTest {
    static final String MODEL = "demo-text";
    static ServerHarness h;
    static StableDiffusion lib;

    static Path dir() {
        return Fixtures.model("digits-text-32");
    }

    @BeforeAll
    static void start() throws Exception {
        // the demo's recommended sampling (shared/models/README.md): DDIM, 25 steps, guidance 3
        ImageBackend text = StableDiffusionBackend.load(new ModelSpec(MODEL, dir(), -1, 3.0, 25, "ddim"));
        h = new ServerHarness(ServerHarness.config(), List.of(text, ServerHarness.backend()));
        lib = StableDiffusion.load(dir(), PipelineOptions.defaults());
    }

    @AfterAll
    static void stop() {
        h.close();
        lib.close();
    }

    private static byte[] truth(TextToImage request) {
        return PngWriter.encode(lib.generate(request).images().get(0));
    }

    @Test
    void modelsListBoth() throws Exception {
        JsonNode data = ServerHarness.json(h.get("/v1/models")).get("data");
        assertEquals(MODEL, data.get(0).get("id").asText());
        assertEquals("text-to-image", data.get(0).get("unet4j").get("kind").asText());
        assertEquals(32, data.get(0).get("unet4j").get("width").asInt());
        assertTrue(data.get(0).get("unet4j").get("img2img").asBoolean());
        assertEquals(ServerHarness.MODEL, data.get(1).get("id").asText());
    }

    @Test
    void txt2imgWithNegativePromptEqualsThePipeline() throws Exception {
        HttpResponse<String> r = h.post("/sdapi/v1/txt2img", ServerHarness.body(Map.of("prompt", "a handwritten seven",
                "negative_prompt", "a bold 1", "seed", 42, "steps", 8, "cfg_scale", 3.0, "batch_size", 2,
                "override_settings", Map.of("sd_model_checkpoint", MODEL))));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode images = ServerHarness.json(r).get("images");
        // one batch, one generator per image (diffusers' list of generators); a batch of 2 need not be bit-equal to
        // two batch-1 runs (oneDNN may pick other kernels for another batch), so the truth is the same batched call
        List<Image> expected = lib.generate(TextToImage.of("a handwritten seven").negativePrompt("a bold 1").steps(8).guidance(3.0)
                .scheduler("ddim").size(32, 32).seeds(42, 43)).images();
        for (int i = 0; i < 2; i++) assertArrayEquals(PngWriter.encode(expected.get(i)), ServerHarness.b64(images.get(i)), "image " + i);
        // and a single image is the one-image run of its seed
        HttpResponse<String> one = h.post("/sdapi/v1/txt2img", ServerHarness.body(Map.of("prompt", "a handwritten seven",
                "negative_prompt", "a bold 1", "seed", 43, "steps", 8, "cfg_scale", 3.0, "model", MODEL)));
        assertArrayEquals(truth(TextToImage.of("a handwritten seven").negativePrompt("a bold 1").steps(8).guidance(3.0)
                .scheduler("ddim").size(32, 32).seed(43)), ServerHarness.b64(ServerHarness.json(one).get("images").get(0)));
    }

    @Test
    void openAiUsesTheModelsDefaults() throws Exception {
        HttpResponse<String> r = h.post("/v1/images/generations", "{\"model\":\"demo-text\",\"prompt\":\"a handwritten two\",\"seed\":5,\"size\":\"32x32\"}");
        assertEquals(200, r.statusCode(), r.body());
        assertArrayEquals(truth(TextToImage.of("a handwritten two").steps(25).guidance(3.0).scheduler("ddim").size(32, 32).seed(5)),
                ServerHarness.b64(ServerHarness.json(r).get("data").get(0).get("b64_json")));
    }

    @Test
    void img2imgEqualsThePipeline() throws Exception {
        // the init image: a digit from the class-conditional demo, upscaled 2x to the text model's 32x32
        HttpResponse<String> digit = h.post("/sdapi/v1/txt2img", "{\"model\":\"demo-digits\",\"prompt\":\"3\",\"seed\":1,\"steps\":10}");
        Image init = PngReader.decode(ServerHarness.b64(ServerHarness.json(digit).get("images").get(0)), "init", 1 << 20).upscale(2);
        String b64 = Base64.getEncoder().encodeToString(PngWriter.encode(init));
        HttpResponse<String> r = h.post("/sdapi/v1/img2img", ServerHarness.body(Map.of("model", MODEL, "prompt", "a handwritten eight",
                "init_images", List.of(b64), "denoising_strength", 0.6, "seed", 9, "steps", 10)));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode j = ServerHarness.json(r);
        assertEquals(0.6, j.get("parameters").get("denoising_strength").asDouble());
        assertArrayEquals(truth(TextToImage.of("a handwritten eight").steps(10).guidance(3.0).scheduler("ddim").initImage(init, 0.6).seed(9)),
                ServerHarness.b64(j.get("images").get(0)));
    }

    /** Native prompt_syntax: A1111 emphasis, the image byte-equal to the library's weighted run (and not the plain one). */
    @Test
    void nativePromptSyntax() throws Exception {
        List<SseEvents.Event> events = SseEvents.generate(h, "{\"model\":\"demo-text\",\"prompt\":\"a (handwritten:1.4) [four]\","
                + "\"seed\":5,\"steps\":4,\"prompt_syntax\":\"weighted\"}");
        SseEvents.Event last = events.get(events.size() - 1);
        byte[] png = ServerHarness.b64(last.data().get("images").get(0).get("b64_json"));
        TextToImage req = TextToImage.of("a (handwritten:1.4) [four]").steps(4).guidance(3.0).scheduler("ddim").size(32, 32).seed(5);
        assertArrayEquals(truth(req.promptSyntax(dev.unet4j.pipeline.PromptSyntax.WEIGHTED)), png);
        assertTrue(!java.util.Arrays.equals(truth(req), png), "the emphasis changed the image");
        assertError(h.post("/v1/generate", "{\"model\":\"demo-text\",\"prompt\":\"x\",\"prompt_syntax\":\"compel\"}"), 400, "prompt_syntax");
    }

    @Test
    void streamsVaePreviewsAndRefusesLoadTimeOptions() throws Exception {
        List<SseEvents.Event> events = SseEvents.generate(h, "{\"model\":\"demo-text\",\"prompt\":\"a handwritten four\",\"seed\":3,\"steps\":6}");
        SseEvents.Event last = events.get(events.size() - 1);
        boolean preview = events.stream().anyMatch(e -> e.name().equals("progress") && e.data().has("preview"));
        assertTrue(preview, "a decoded preview was streamed");
        assertError(h.post("/v1/generate", "{\"model\":\"demo-text\",\"prompt\":\"x\",\"cache\":\"deepcache:interval=2\"}"), 400, "cache");
        assertError(h.post("/v1/generate", "{\"model\":\"demo-text\",\"prompt\":\"x\",\"eta\":0.3}"), 400, "eta");
        String notPng = Base64.getEncoder().encodeToString(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 1, 2, 3});
        assertError(h.post("/sdapi/v1/img2img", "{\"model\":\"demo-text\",\"prompt\":\"x\",\"init_images\":[\"" + notPng + "\"]}"), 400, "init_images[0]");
    }
}
