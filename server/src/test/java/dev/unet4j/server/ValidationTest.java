package dev.unet4j.server;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.stream.Stream;

import static dev.unet4j.server.ServerHarness.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every field is checked before any work: 400 with a JSON error naming the field; oversized bodies 413 before
 * parsing; malformed JSON 400. The server's step counter stays at zero: no request here reached the model.
 */
class ValidationTest {
    static ServerHarness h;
    static final String PNG_1x1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==";

    @BeforeAll
    static void start() throws Exception {
        // small limits so each can be crossed cheaply: 64 KiB bodies, 1 KiB images, 64x64 pixels, 50 steps, 100-character prompts, 4 images
        h = new ServerHarness(ServerHarness.config().withLimits(64 << 10, 1 << 10, 64 * 64, 50, 100, 4));
    }

    @AfterAll
    static void stop() throws Exception {
        String metrics = h.get("/metrics").body();
        try {
            assertEquals(0.0, RoutesTest.value(metrics, "unet4j_step_seconds_count "), "a refused request reached the model");
            assertEquals(0.0, RoutesTest.value(metrics, "unet4j_generations_total{outcome=\"ok\"} "));
        } finally {
            h.close();
        }
    }

    private static HttpResponse<String> openAi(String json) throws Exception {
        return h.post("/v1/images/generations", json);
    }

    private static HttpResponse<String> txt2img(String json) throws Exception {
        return h.post("/sdapi/v1/txt2img", json);
    }

    @Test
    void openAiFields() throws Exception {
        assertError(openAi("{}"), 400, "prompt");
        assertError(openAi("{\"prompt\":\"   \"}"), 400, "prompt");
        assertError(openAi("{\"prompt\":\"" + "7".repeat(101) + "\"}"), 400, "prompt");
        assertError(openAi("{\"prompt\":7}"), 400, "prompt");
        assertError(openAi("{\"prompt\":\"7\",\"n\":0}"), 400, "n");
        assertError(openAi("{\"prompt\":\"7\",\"n\":5}"), 400, "n");
        assertError(openAi("{\"prompt\":\"7\",\"n\":1.5}"), 400, "n");
        assertError(openAi("{\"prompt\":\"7\",\"size\":\"big\"}"), 400, "size");
        assertError(openAi("{\"prompt\":\"7\",\"size\":\"20x16\"}"), 400, "size");
        assertError(openAi("{\"prompt\":\"7\",\"size\":\"72x64\"}"), 400, "size"); // over 64x64 pixels
        assertError(openAi("{\"prompt\":\"7\",\"response_format\":\"url\"}"), 400, "response_format");
        assertError(openAi("{\"prompt\":\"7\",\"model\":\"dall-e-3\"}"), 400, "model");
        assertError(openAi("{\"prompt\":\"7\",\"model\":\"/etc/passwd\"}"), 400, "model");
        assertError(openAi("{\"prompt\":\"7\",\"model\":\"" + ServerHarness.demoDir() + "\"}"), 400, "model");
        assertError(openAi("{\"prompt\":\"7\",\"steps\":51}"), 400, "steps");
        assertError(openAi("{\"prompt\":\"7\",\"steps\":\"ten\"}"), 400, "steps");
        assertError(openAi("{\"prompt\":\"7\",\"sampler\":\"unipc\"}"), 400, "sampler");
        assertError(openAi("{\"prompt\":\"7\",\"seed\":-2}"), 400, "seed");
        assertError(openAi("{\"prompt\":\"7\",\"seed\":4294967296}"), 400, "seed");
        assertError(openAi("{\"prompt\":\"7\",\"guidance\":-1}"), 400, "guidance");
    }

    @Test
    void promptMustNameOneClassOfTheDemoModel() throws Exception {
        var e = assertError(openAi("{\"prompt\":\"a cat\"}"), 400, "prompt");
        assertTrue(e.get("message").asText().contains("no class label"), e.toString());
        assertError(openAi("{\"prompt\":\"a seven and a 3\"}"), 400, "prompt");
        assertError(openAi("{\"prompt\":\"10\"}"), 400, "prompt"); // the null class
        assertError(openAi("{\"prompt\":\"12\"}"), 400, "prompt");
        assertError(openAi("{\"prompt\":\"7\",\"negative_prompt\":\"blurry\"}"), 400, "negative_prompt");
    }

    @Test
    void a1111Fields() throws Exception {
        assertError(txt2img("{\"prompt\":\"7\",\"width\":17,\"height\":16}"), 400, "width");
        assertError(txt2img("{\"prompt\":\"7\",\"width\":16,\"height\":12}"), 400, "height");
        assertError(txt2img("{\"prompt\":\"7\",\"width\":-8}"), 400, "width");
        assertError(txt2img("{\"prompt\":\"7\",\"width\":128,\"height\":64}"), 400, "width"); // pixel cap
        assertError(txt2img("{\"prompt\":\"7\",\"steps\":0}"), 400, "steps");
        assertError(txt2img("{\"prompt\":\"7\",\"cfg_scale\":-1}"), 400, "cfg_scale");
        assertError(txt2img("{\"prompt\":\"7\",\"cfg_scale\":\"high\"}"), 400, "cfg_scale");
        assertError(txt2img("{\"prompt\":\"7\",\"sampler_name\":\"UniPC\"}"), 400, "sampler_name");
        assertError(txt2img("{\"prompt\":\"7\",\"sampler_name\":\"Euler\",\"scheduler\":\"Exponential\"}"), 400, "scheduler");
        assertError(txt2img("{\"prompt\":\"7\",\"batch_size\":3,\"n_iter\":2}"), 400, "batch_size");
        assertError(txt2img("{\"prompt\":\"7\",\"n_iter\":0}"), 400, "n_iter");
        assertError(txt2img("{\"prompt\":\"7\",\"seed\":\"42\"}"), 400, "seed");
        assertError(txt2img("{\"prompt\":\"7\",\"override_settings\":{\"sd_model_checkpoint\":\"v1-5-pruned.ckpt\"}}"), 400, "sd_model_checkpoint");
        assertError(txt2img("{\"prompt\":\"7\",\"override_settings\":\"x\"}"), 400, "override_settings");
    }

    @Test
    void img2imgImages() throws Exception {
        String url = "/sdapi/v1/img2img";
        assertError(h.post(url, "{\"prompt\":\"7\"}"), 400, "init_images");
        assertError(h.post(url, "{\"prompt\":\"7\",\"init_images\":[\"not base64!\"]}"), 400, "init_images[0]");
        String jpeg = Base64.getEncoder().encodeToString(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0, 0, 16, 'J', 'F', 'I', 'F'});
        var e = assertError(h.post(url, "{\"prompt\":\"7\",\"init_images\":[\"" + jpeg + "\"]}"), 400, "init_images[0]");
        assertTrue(e.get("message").asText().contains("PNG"), e.toString());
        assertError(h.post(url, "{\"prompt\":\"7\",\"init_images\":[\"data:image/jpeg;base64," + jpeg + "\"]}"), 400, "init_images[0]");
        String big = Base64.getEncoder().encodeToString(new byte[2048]);
        e = assertError(h.post(url, "{\"prompt\":\"7\",\"init_images\":[\"" + big + "\"]}"), 400, "init_images[0]");
        assertTrue(e.get("message").asText().contains("limit"), e.toString());
        assertError(h.post(url, "{\"prompt\":\"7\",\"init_images\":[\"" + PNG_1x1 + "\"],\"denoising_strength\":1.5}"), 400, "denoising_strength");
        // a valid PNG, but the demo backend has no img2img: refused naming the field, before any work
        e = assertError(h.post(url, "{\"prompt\":\"7\",\"init_images\":[\"" + PNG_1x1 + "\"]}"), 400, "init_images");
        assertTrue(e.get("message").asText().contains("img2img"), e.toString());
    }

    @Test
    void nativeFields() throws Exception {
        assertError(h.post("/v1/generate", "{\"prompt\":\"7\",\"cache\":\"warpcache:interval=2\"}"), 400, "cache");
        assertError(h.post("/v1/generate", "{\"prompt\":\"7\",\"cache\":\"deepcache:interval=banana\"}"), 400, "cache");
        assertError(h.post("/v1/generate", "{\"prompt\":\"7\",\"sampler\":\"euler\",\"eta\":0.5}"), 400, "eta");
        assertError(h.post("/v1/generate", "{\"prompt\":\"7\",\"eta\":2}"), 400, "eta");
        assertError(h.post("/v1/generate", "{\"prompt\":\"7\",\"init_image\":\"" + PNG_1x1 + "\",\"strength\":0}"), 400, "strength");
        assertError(h.get("/v1/generate/no-such-id"), 404, "id");
        assertError(h.get("/v1/generate/no-such-id/events", "Accept", "text/event-stream"), 404, "id");
    }

    @Test
    void malformedBodies() throws Exception {
        for (String bad : new String[] {"{\"prompt\": \"7\"", "not json", "{\"prompt\":\"7\"} trailing", "[1,2]", "\"7\"", ""}) {
            for (String url : new String[] {"/v1/images/generations", "/sdapi/v1/txt2img", "/v1/generate"}) {
                assertError(h.post(url, bad), 400, null);
            }
        }
    }

    @Test
    void oversizedBodyRefusedByContentLengthBeforeParsing() throws Exception {
        String body = "{\"prompt\":\"7\",\"pad\":\"" + "x".repeat(70 << 10) + "\"}";
        assertError(txt2img(body), 413, null);
        // chunked (no Content-Length): refused by Javalin's read limit with the same JSON error
        HttpRequest chunked = HttpRequest.newBuilder(h.uri("/sdapi/v1/txt2img")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8)))).build();
        assertError(h.http.send(chunked, HttpResponse.BodyHandlers.ofString()), 413, null);
    }

    @Test
    void contentLengthLieIsRefusedWithoutReadingTheBody() throws Exception {
        // a client announcing 1 GB gets 413 at once: the server does not wait for (or read) the body
        try (Socket s = new Socket("127.0.0.1", h.server.port())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(("POST /sdapi/v1/txt2img HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n{")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            String status = new String(in.readNBytes(12), StandardCharsets.US_ASCII);
            assertEquals("HTTP/1.1 413", status);
        }
    }

    @Test
    void unknownExtraFieldsAreAccepted() throws Exception {
        // accepted fields reach validation of the known ones: here the prompt's class is wrong, not the extras
        for (String url : Stream.of("/v1/images/generations", "/sdapi/v1/txt2img", "/v1/generate").toList()) {
            assertError(h.post(url, "{\"prompt\":\"no digit\",\"user\":\"u1\",\"restore_faces\":true,\"styles\":[]}"), 400, "prompt");
        }
    }
}
