package dev.unet4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unet4j.core.image.Image;
import dev.unet4j.core.image.PngReader;
import dev.unet4j.core.image.PngWriter;
import dev.unet4j.core.testing.PngSamples;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Uploaded init images against the heap: a PNG whose header is over the server's pixel cap is refused before its
 * pixels cost anything, and concurrent full decodes are bounded by the decode budget (503 with Retry-After past it),
 * so many large legal uploads at once are all answered and none fails with a 500 or an OutOfMemoryError.
 */
class InitImageLimitsTest {
    private static final long CAP = 64 * 64;

    /** A valid 8x8 greyscale PNG whose IHDR then claims {@code w x h} (CRCs fixed: only the size is wrong). */
    private static byte[] claiming(int w, int h) {
        byte[] png = PngWriter.encode(new Image(8, 8, 1, new byte[64]));
        PngSamples.putInt(png, 16, w);
        PngSamples.putInt(png, 20, h);
        PngSamples.fixCrcs(png);
        return png;
    }

    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getThreadAllocatedBytes(Thread.currentThread().getId());
    }

    @Test
    void headerOverTheCapIsRefusedBeforeAllocating() {
        InitImageCheck check = new InitImageCheck(CAP, new DecodeSlots(1, 10, 2));
        byte[] bomb = claiming(4096, 4096); // 48 MiB of RGB pixels if it were decoded
        check.check(claiming(8, 8), "warm-up", 0, 0); // loads the classes outside the measured window
        for (int i = 0; i < 3; i++) assertThrows(ApiException.class, () -> check.check(bomb, "init_images[0]", 64, 64));
        long before = allocatedBytes();
        ApiException e = assertThrows(ApiException.class, () -> check.check(bomb, "init_images[0]", 64, 64));
        long allocated = allocatedBytes() - before;
        assertTrue(allocated < 64 << 10, "refusing the header allocated " + allocated + " bytes");
        assertEquals(400, e.status());
        assertEquals("init_images[0]", e.param());
        assertTrue(e.getMessage().contains("4096x4096") && e.getMessage().contains("64x64") && e.getMessage().contains("4096 pixels"),
                e.getMessage());
        // exactly at the cap it decodes (and is then a broken file here, since the data is 8x8): refused as unreadable
        ApiException atCap = assertThrows(ApiException.class, () -> check.check(claiming(64, 64), "init_image", 0, 0));
        assertTrue(atCap.getMessage().startsWith("init_image: not a readable PNG"), atCap.getMessage());
        // a header whose width x height overflows 32 bits is still over the cap
        ApiException wrap = assertThrows(ApiException.class, () -> check.check(claiming(65536, 65537), "init_image", 0, 0));
        assertTrue(wrap.getMessage().contains("65536x65537 = 4295032832 pixels"), wrap.getMessage());
    }

    @Test
    void overTheCapThroughBothRoutes() throws Exception {
        ServerConfig config = ServerHarness.config().withLimits(1 << 20, 1 << 16, CAP, 10, 100, 1);
        try (ServerHarness h = new ServerHarness(config, List.of(new EchoBackend("echo")))) {
            // legal under PngReader's own limits (and the old fixed 4096 x 4096), but over this server's cap
            String bomb = Base64.getEncoder().encodeToString(claiming(4096, 4096));
            JsonNode e = ServerHarness.assertError(h.post("/sdapi/v1/img2img", "{\"prompt\":\"x\",\"width\":64,\"height\":64,\"init_images\":[\"" + bomb + "\"]}"),
                    400, "init_images[0]");
            assertTrue(e.get("message").asText().contains("4096x4096") && e.get("message").asText().contains("64x64"), e.toString());
            ServerHarness.assertError(h.post("/v1/generate", "{\"prompt\":\"x\",\"init_image\":\"" + bomb + "\"}"), 400, "init_image");
            // at the cap: generated with the init image's size
            String ok = Base64.getEncoder().encodeToString(PngWriter.encode(new Image(64, 64, 3, new byte[64 * 64 * 3])));
            HttpResponse<String> r = h.post("/sdapi/v1/img2img", "{\"prompt\":\"x\",\"init_images\":[\"" + ok + "\"]}");
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(64, ServerHarness.json(r).get("parameters").get("width").asInt(), r.body());
        }
    }

    @Test
    void slotsFollowTheBudgetAndRefuseWithRetryAfter() {
        // defaults: 1024 x 1024 pixels, 8 MiB images: 1,048,576 x 19 + 3 x 8,388,608 bytes per decode (DecodeSlots' formula)
        long perDecode = 45_088_768L;
        assertEquals(perDecode, DecodeSlots.bytesPerDecode(1024L * 1024, 8L << 20));
        assertEquals(1, DecodeSlots.of(ServerConfig.defaults().withDecodeBudget(1)).size());
        assertEquals(1, DecodeSlots.of(ServerConfig.defaults().withDecodeBudget(2 * perDecode - 1)).size());
        assertEquals(4, DecodeSlots.of(ServerConfig.defaults().withDecodeBudget(4 * perDecode)).size());

        DecodeSlots slots = new DecodeSlots(1, 50, 7);
        try (DecodeSlots.Slot held = slots.acquire("a")) {
            ApiException e = assertThrows(ApiException.class, () -> slots.acquire("init_images[0]"));
            assertEquals(503, e.status());
            assertEquals("7", e.headers().get("Retry-After"));
            assertEquals("init_images[0]", e.param());
        }
        slots.acquire("b").close(); // freed again
    }

    /** The estimate bounds what one decode really allocates (a noisy RGB image, which deflate cannot shrink). */
    @Test
    void bytesPerDecodeBoundsARealDecode() throws Exception {
        byte[] px = new byte[1024 * 1024 * 3];
        new Random(5).nextBytes(px);
        byte[] png = PngWriter.encode(new Image(1024, 1024, 3, px));
        PngReader.decode(png, "warm-up", 1 << 20);
        long before = allocatedBytes();
        Image im = PngReader.decode(png, "noise", 1 << 20);
        long allocated = allocatedBytes() - before;
        assertEquals(1024, im.width());
        assertTrue(allocated <= DecodeSlots.bytesPerDecode(1024L * 1024, png.length),
                allocated + " bytes allocated, estimate " + DecodeSlots.bytesPerDecode(1024L * 1024, png.length));
        assertTrue(allocated >= 1024L * 1024 * 3, "the decode allocated at least its pixels: " + allocated);
    }

    /** 24 concurrent legal 2048 x 2048 uploads (12 MiB of pixels each) with a budget of one decode at a time. */
    @Test
    void concurrentLargeUploadsWithASmallBudgetAreAllAnswered() throws Exception {
        ServerConfig config = ServerHarness.config().withLimits(4 << 20, 1 << 20, 2048L * 2048, 10, 100, 1).withDecodeBudget(1);
        String big = Base64.getEncoder().encodeToString(PngWriter.encode(new Image(2048, 2048, 3, new byte[2048 * 2048 * 3])));
        String body = "{\"prompt\":\"x\",\"init_images\":[\"" + big + "\"]}";
        int clients = 24;
        try (ServerHarness h = new ServerHarness(config, List.of(new EchoBackend("echo")))) {
            ExecutorService pool = Executors.newFixedThreadPool(clients);
            try {
                List<Future<HttpResponse<String>>> answers = new ArrayList<>();
                for (int i = 0; i < clients; i++) answers.add(pool.submit(() -> h.post("/sdapi/v1/img2img", body)));
                int ok = 0;
                for (Future<HttpResponse<String>> f : answers) {
                    HttpResponse<String> r = f.get();
                    int s = r.statusCode();
                    assertTrue(s == 200 || s == 429 || s == 503, s + ": " + r.body());
                    if (s == 200) ok++;
                    else assertTrue(r.headers().firstValue("Retry-After").isPresent(), "a " + s + " tells when to retry");
                }
                assertTrue(ok > 0, "some uploads were decoded and generated");
            } finally {
                pool.shutdownNow();
            }
            assertEquals(200, h.get("/healthz").statusCode());
        }
    }

    /** An img2img model that answers with a black image of the init image's size, at once. */
    private record EchoBackend(String name) implements ImageBackend {
        @Override
        public ModelInfo info() {
            return new ModelInfo(name, "text-to-image", 64, 64, 1, 1.0, "ddim", List.of("ddim"), true, "a text prompt");
        }

        @Override
        public void validate(ImageRequest request) {
        }

        @Override
        public List<GeneratedImage> generate(ImageRequest r, StepListener listener) {
            int w = PngSamples.readInt(r.initImage(), 16);
            int h = PngSamples.readInt(r.initImage(), 20);
            return List.of(new GeneratedImage(PngWriter.encode(new Image(w, h, 3, new byte[w * h * 3])), r.seed(), w, h));
        }

        @Override
        public void close() {
        }
    }
}
