package dev.unet4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unet4j.core.tensor.NativeBuffer;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

import static dev.unet4j.server.ServerHarness.assertError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bounded queue (429), and every way a generation is stopped at its next step. */
class QueueAndCancelTest {
    private static final String REQUEST = "{\"prompt\":\"7\",\"seed\":11,\"steps\":20}";

    private static ServerHarness gated(GatedBackend b, ServerConfig c) {
        return new ServerHarness(c, List.of(b));
    }

    private static JsonNode health(ServerHarness h) throws Exception {
        return ServerHarness.json(h.get("/healthz"));
    }

    static void waitFor(String what, BooleanSupplier ok) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!ok.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(20);
        }
    }

    private static BooleanSupplier running(ServerHarness h, int running, int queued) {
        return () -> {
            try {
                JsonNode j = health(h);
                return j.get("running").asInt() == running && j.get("queued").asInt() == queued;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
    }

    private static double metric(ServerHarness h, String name) throws Exception {
        return RoutesTest.value(h.get("/metrics").body(), name);
    }

    @Test
    void fullQueueAnswers429WithRetryAfterThenDrains() throws Exception {
        GatedBackend b = new GatedBackend(ServerHarness.backend());
        try (ServerHarness h = gated(b, ServerHarness.config().withWorkers(1, 1)); ServerHarness.Library lib = new ServerHarness.Library()) {
            CompletableFuture<HttpResponse<String>> first = h.http.sendAsync(post(h, "/sdapi/v1/txt2img", REQUEST), HttpResponse.BodyHandlers.ofString());
            waitFor("the first job running", running(h, 1, 0));
            CompletableFuture<HttpResponse<String>> second = h.http.sendAsync(post(h, "/v1/images/generations", REQUEST), HttpResponse.BodyHandlers.ofString());
            waitFor("the second job queued", running(h, 1, 1));
            for (String url : List.of("/sdapi/v1/txt2img", "/v1/images/generations", "/v1/generate")) {
                HttpResponse<String> full = h.post(url, REQUEST);
                JsonNode e = assertError(full, 429, null);
                assertEquals("rate_limit_error", e.get("type").asText());
                assertEquals("2", full.headers().firstValue("Retry-After").orElse(null));
            }
            assertEquals(3.0, metric(h, "unet4j_generations_total{outcome=\"rejected\"} "));
            assertEquals(1.0, metric(h, "unet4j_queue_length "));
            b.open();
            byte[] truth = lib.png(7, 11, 20, 1.5, "ddim", 16);
            assertArrayEquals(truth, ServerHarness.b64(ServerHarness.json(first.get()).get("images").get(0)));
            assertArrayEquals(truth, ServerHarness.b64(ServerHarness.json(second.get()).get("data").get(0).get("b64_json")));
            assertEquals(200, h.post("/sdapi/v1/txt2img", REQUEST).statusCode()); // room again
        }
    }

    @Test
    void clientDisconnectCancelsAtTheNextStepAndFreesNativeMemory() throws Exception {
        ClassConditionalBackend real = ServerHarness.backend();
        // one run first: the model keeps what it builds on first use (e.g. reordered weights) for later runs
        real.generate(new ImageRequest(ServerHarness.MODEL, "7", "", 16, 16, 2, 1.5, 0, null, null, 1, 1, null, null, 1), (d, t, p) -> true);
        GatedBackend b = new GatedBackend(real);
        try (ServerHarness h = gated(b, ServerHarness.config())) {
            long baseline = NativeBuffer.liveBytes();
            byte[] body = REQUEST.getBytes(StandardCharsets.UTF_8);
            try (Socket s = new Socket("127.0.0.1", h.server.port())) {
                OutputStream out = s.getOutputStream();
                out.write(("POST /sdapi/v1/txt2img HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.write(body);
                out.flush();
                waitFor("the job running", running(h, 1, 0));
                assertTrue(NativeBuffer.liveBytes() > baseline, "a running generation holds a session's native memory");
            } // the client goes away; the gate stays shut, so only a cancel can end the job
            waitFor("the job cancelled", running(h, 0, 0));
            assertEquals(1.0, metric(h, "unet4j_generations_total{outcome=\"cancelled\"} "));
            assertEquals(baseline, NativeBuffer.liveBytes(), "native memory back to its baseline");
        }
    }

    @Test
    void interruptStopsTheRunningJob() throws Exception {
        GatedBackend b = new GatedBackend(ServerHarness.backend());
        try (ServerHarness h = gated(b, ServerHarness.config())) {
            CompletableFuture<HttpResponse<String>> job = h.http.sendAsync(post(h, "/sdapi/v1/txt2img", REQUEST), HttpResponse.BodyHandlers.ofString());
            waitFor("the first step done", () -> {
                try {
                    return ServerHarness.json(h.get("/sdapi/v1/progress")).get("state").get("sampling_step").asInt() == 1;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            JsonNode p = ServerHarness.json(h.get("/sdapi/v1/progress"));
            assertEquals(20, p.get("state").get("sampling_steps").asInt());
            assertEquals(1, p.get("state").get("sampling_step").asInt());
            assertEquals(1.0 / 20, p.get("progress").asDouble(), 1e-12);
            assertTrue(p.get("current_image").asText().startsWith("iVBORw0KGgo"), "a PNG preview"); // base64 of the PNG signature
            assertEquals(200, h.post("/sdapi/v1/interrupt", "").statusCode());
            JsonNode e = assertError(job.get(), 409, null);
            assertTrue(e.get("message").asText().contains("interrupted"), e.toString());
            assertTrue(ServerHarness.json(h.get("/sdapi/v1/progress")).get("state").get("interrupted").asBoolean());
        }
    }

    @Test
    void timeoutStopsAGenerationWith504() throws Exception {
        GatedBackend b = new GatedBackend(ServerHarness.backend());
        try (ServerHarness h = gated(b, ServerHarness.config().withTimeout(Duration.ofMillis(300)))) {
            long t0 = System.nanoTime();
            assertError(h.post("/v1/images/generations", REQUEST), 504, null);
            assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(10).toNanos());
        }
    }

    @Test
    void deleteCancelsANativeJobAndItsStreamEndsWithError() throws Exception {
        GatedBackend b = new GatedBackend(ServerHarness.backend());
        try (ServerHarness h = gated(b, ServerHarness.config())) {
            JsonNode job = ServerHarness.json(h.post("/v1/generate", REQUEST));
            String id = job.get("id").asText();
            waitFor("the job running", running(h, 1, 0));
            assertEquals(200, h.http.send(HttpRequest.newBuilder(h.uri("/v1/generate/" + id)).DELETE().build(), HttpResponse.BodyHandlers.ofString()).statusCode());
            List<SseEvents.Event> events = SseEvents.read(h, "/v1/generate/" + id + "/events");
            SseEvents.Event last = events.get(events.size() - 1);
            assertEquals("error", last.name());
            assertEquals("cancelled", last.data().get("state").asText());
            assertEquals("cancelled by the client", last.data().get("cancel_reason").asText());
        }
    }

    @Test
    void droppingTheEventStreamCancelsTheJob() throws Exception {
        GatedBackend b = new GatedBackend(ServerHarness.backend());
        try (ServerHarness h = gated(b, ServerHarness.config())) {
            String id = ServerHarness.json(h.post("/v1/generate", REQUEST)).get("id").asText();
            HttpRequest req = HttpRequest.newBuilder(h.uri("/v1/generate/" + id + "/events")).header("Accept", "text/event-stream").build();
            HttpResponse<InputStream> r = h.http.send(req, HttpResponse.BodyHandlers.ofInputStream());
            try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                assertEquals("event: progress", in.readLine());
            } // closing the body stream closes the connection
            waitFor("the job cancelled", () -> {
                try {
                    return ServerHarness.json(h.get("/v1/generate/" + id)).get("state").asText().equals("cancelled");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            assertEquals("client disconnected", ServerHarness.json(h.get("/v1/generate/" + id)).get("cancel_reason").asText());
        }
    }

    private static HttpRequest post(ServerHarness h, String path, String json) {
        return HttpRequest.newBuilder(h.uri(path)).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build();
    }
}
