package dev.unet4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Request batching: compatible queued requests run as one UNet batch, each answer byte-equal to its own batch-1
 * run; an incompatible request (other steps) runs on its own; off by default.
 */
class BatchingTest {
    private static HttpRequest post(ServerHarness h, String json) {
        return HttpRequest.newBuilder(h.uri("/sdapi/v1/txt2img")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build();
    }

    private static void waitQueued(ServerHarness h, int queued) throws InterruptedException {
        QueueAndCancelTest.waitFor(queued + " queued", () -> {
            try {
                return ServerHarness.json(h.get("/healthz")).get("queued").asInt() == queued;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void compatibleQueuedRequestsShareOneBatch() throws Exception {
        GatedBackend b = new GatedBackend(ServerHarness.backend());
        try (ServerHarness h = new ServerHarness(ServerHarness.config().withWorkers(1, 8).withBatchWindow(Duration.ofMillis(50)), List.of(b));
             ServerHarness.Library lib = new ServerHarness.Library()) {
            // the worker is held inside the first request, so the next four wait in the queue together
            CompletableFuture<HttpResponse<String>> first = h.http.sendAsync(post(h, "{\"prompt\":\"1\",\"seed\":100,\"steps\":6}"), HttpResponse.BodyHandlers.ofString());
            QueueAndCancelTest.waitFor("the first running", () -> {
                try {
                    return ServerHarness.json(h.get("/healthz")).get("running").asInt() == 1;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            String[] prompts = {"2", "a handwritten three", "4", "5"};
            int[] labels = {2, 3, 4, 5};
            int[] steps = {6, 6, 6, 9}; // the last differs in steps: not batchable with the others
            List<CompletableFuture<HttpResponse<String>>> rest = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                rest.add(h.http.sendAsync(post(h, "{\"prompt\":\"" + prompts[i] + "\",\"seed\":" + (200 + i) + ",\"steps\":" + steps[i]
                        + (i == 1 ? ",\"batch_size\":2" : "") + "}"), HttpResponse.BodyHandlers.ofString()));
                waitQueued(h, i + 1);
            }
            b.open();
            assertArrayEquals(lib.png(1, 100, 6, 1.5, "ddim", 16), ServerHarness.b64(ServerHarness.json(first.get()).get("images").get(0)));
            for (int i = 0; i < 4; i++) {
                HttpResponse<String> r = rest.get(i).get();
                assertEquals(200, r.statusCode(), r.body());
                JsonNode images = ServerHarness.json(r).get("images");
                for (int k = 0; k < images.size(); k++) {
                    assertArrayEquals(lib.png(labels[i], 200 + i + k, steps[i], 1.5, "ddim", 16), ServerHarness.b64(images.get(k)),
                            "request " + i + " image " + k);
                }
            }
            String metrics = h.get("/metrics").body();
            // one batched call of the three compatible requests (4 images); the others ran alone
            assertEquals(1.0, RoutesTest.value(metrics, "unet4j_batch_requests_count "));
            assertEquals(3.0, RoutesTest.value(metrics, "unet4j_batch_requests_sum "));
            assertEquals(5.0, RoutesTest.value(metrics, "unet4j_generations_total{outcome=\"ok\"} "));
        }
    }

    @Test
    void offByDefault() throws Exception {
        assertEquals(Duration.ZERO, ServerConfig.defaults().batchWindow());
    }
}
