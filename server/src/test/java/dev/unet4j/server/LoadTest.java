package dev.unet4j.server;

import dev.unet4j.core.tensor.NativeBuffer;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * 8 concurrent clients x 25 requests each on the demo model over loopback: every request answered 200 or 429,
 * every 200 image the library's for its seed, native memory back to its baseline, no server thread left behind.
 */
class LoadTest {
    private static final int CLIENTS = 8;
    private static final int REQUESTS = 25;

    @Test
    void eightClientsTimesTwentyFiveRequests() throws Exception {
        Set<String> threadsBefore = threadNames();
        ClassConditionalBackend backend = ServerHarness.backend();
        backend.generate(new ImageRequest(ServerHarness.MODEL, "7", "", 16, 16, 2, 1.5, 0, null, null, 1, 1, null, null, 1), (d, t, p) -> true);
        Map<Long, byte[]> truth = new ConcurrentHashMap<>();
        try (ServerHarness.Library lib = new ServerHarness.Library()) {
            for (long seed = 0; seed < 4; seed++) truth.put(seed, lib.png(7, seed, 5, 1.5, "ddim", 16));
        }
        long nativeBaseline = NativeBuffer.liveBytes();
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger busy = new AtomicInteger();
        List<String> problems = java.util.Collections.synchronizedList(new ArrayList<>());
        try (ServerHarness h = new ServerHarness(ServerHarness.config().withWorkers(2, 2), List.of(backend))) {
            ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
            List<Future<?>> done = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                int client = c;
                done.add(clients.submit(() -> {
                    for (int i = 0; i < REQUESTS; i++) {
                        long seed = (client + i) % 4;
                        String route = i % 2 == 0 ? "/sdapi/v1/txt2img" : "/v1/images/generations";
                        try {
                            HttpResponse<String> r = h.post(route, "{\"prompt\":\"7\",\"steps\":5,\"seed\":" + seed + "}");
                            if (r.statusCode() == 200) {
                                var j = ServerHarness.json(r);
                                var img = route.startsWith("/sdapi") ? j.get("images").get(0) : j.get("data").get(0).get("b64_json");
                                assertArrayEquals(truth.get(seed), ServerHarness.b64(img), "seed " + seed);
                                ok.incrementAndGet();
                            } else if (r.statusCode() == 429) {
                                assertEquals("2", r.headers().firstValue("Retry-After").orElse(null));
                                busy.incrementAndGet();
                            } else {
                                problems.add(r.statusCode() + " " + r.body());
                            }
                        } catch (Exception | AssertionError e) {
                            problems.add(e.toString());
                        }
                    }
                }));
            }
            for (Future<?> f : done) f.get(10, TimeUnit.MINUTES);
            clients.shutdown();
            assertTrue(problems.isEmpty(), problems.toString());
            assertEquals(CLIENTS * REQUESTS, ok.get() + busy.get());
            assertTrue(ok.get() >= 4, "at least the workers' first jobs succeed: " + ok.get());
            String metrics = h.get("/metrics").body();
            assertEquals(ok.get(), (int) RoutesTest.value(metrics, "unet4j_generations_total{outcome=\"ok\"} "));
            assertEquals(busy.get(), (int) RoutesTest.value(metrics, "unet4j_generations_total{outcome=\"rejected\"} "));
            assertEquals(nativeBaseline, NativeBuffer.liveBytes(), "native memory back to its baseline");
            System.out.printf("load: %d x %d requests: %d ok, %d answered 429%n", CLIENTS, REQUESTS, ok.get(), busy.get());
        }
        QueueAndCancelTest.waitFor("server threads gone", () -> {
            Set<String> left = threadNames();
            left.removeAll(threadsBefore);
            left.removeIf(n -> !n.startsWith("unet4j-") && !n.startsWith("JettyScheduler") && !n.contains("qtp") && !n.startsWith("Javalin"));
            return left.isEmpty();
        });
    }

    private static Set<String> threadNames() {
        Set<String> s = new java.util.HashSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) if (t.isAlive()) s.add(t.getName());
        return s;
    }
}
