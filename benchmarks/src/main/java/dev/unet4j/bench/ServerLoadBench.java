package dev.unet4j.bench;

import dev.unet4j.core.kernels.dnnl.CpuFeatures;
import dev.unet4j.core.kernels.dnnl.OpenMpTeams;
import dev.unet4j.server.ImageBackend;
import dev.unet4j.server.ImageRequest;
import dev.unet4j.server.ModelRegistry;
import dev.unet4j.server.ModelSpec;
import dev.unet4j.server.ServerConfig;
import dev.unet4j.server.UnetServer;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code unet4j serve} under load (issue 16's benchmark): images/s and p50/p95 latency at several client
 * concurrencies, with request batching off and on, next to the sequential library loop a CLI user gets (the same
 * backend called one request after the other in this JVM, so neither side pays a JVM start).
 *
 * <p>Every client sends A1111 {@code txt2img} requests (one image each, its own seed) over loopback and waits for
 * the answer before sending the next; the queue is sized so no request is refused. The server and the loop share
 * one loaded model, and the configurations run one after the other in one process, so their ratios are comparable
 * even on a loaded machine.
 *
 * <p>Usage: {@code ServerLoadBench [--model DIR] [--requests N] [--steps S] [--levels 1,2,4,8] [--window-ms W]};
 * defaults: the bundled demo-text pipeline ({@code testdata/models/digits-text-32}), 32 requests per level, the
 * model's default steps, levels 1,2,4,8, a 20 ms batching window.
 */
public final class ServerLoadBench {
    private static final String PROMPT = "a handwritten seven";

    private ServerLoadBench() {
    }

    public static void main(String[] args) throws Exception {
        Path model = Path.of("testdata/models/digits-text-32");
        int requests = 32;
        int steps = 0;
        int[] levels = {1, 2, 4, 8};
        int windowMs = 20;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> model = Path.of(args[++i]);
                case "--requests" -> requests = Integer.parseInt(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--levels" -> levels = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--window-ms" -> windowMs = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + "; usage: ServerLoadBench [--model DIR] [--requests N] [--steps S] [--levels 1,2,4,8] [--window-ms W]");
            }
        }
        System.out.printf(Locale.ROOT, "# ServerLoadBench: %s, %d requests per level, isa %s, %d cores, load %s%n",
                model, requests, CpuFeatures.isa(), Runtime.getRuntime().availableProcessors(), loadAverage());
        // everything that computes outside the server runs on threads that end (OpenMpTeams): a team left on this
        // thread made the first version of this benchmark's server rows 3x slower than the loop
        final Path dir = model;
        ImageBackend backend = OpenMpTeams.onShortLivedThread("bench", () -> ModelRegistry.loadDefault(new ModelSpec("bench", dir)));
        int maxLevel = Arrays.stream(levels).max().orElse(1);
        try {
            final int s = steps;
            final int n = requests;
            Stats loop = OpenMpTeams.onShortLivedThread("bench", () -> {
                libraryLoop(backend, Math.max(n, 32), s); // warm-up: the JIT needs ~30 generations to settle
                return libraryLoop(backend, n, s);
            });
            System.out.println();
            System.out.println("| path | batching | clients | images/s | p50 ms | p95 ms | vs library loop |");
            System.out.println("|---|---|---:|---:|---:|---:|---:|");
            System.out.println(loop.row("library loop (sequential)", "-", 1, loop));
            ServerConfig base = ServerConfig.defaults().withHost("127.0.0.1").withPort(0)
                    .withWorkers(ServerConfig.defaultWorkers(), Math.max(16, maxLevel * 2));
            for (boolean batching : new boolean[] {false, true}) {
                ServerConfig config = batching ? base.withBatchWindow(Duration.ofMillis(windowMs)) : base;
                ModelRegistry registry = ModelRegistry.of(List.of(backend)); // the server never closes its registry
                try (UnetServer server = UnetServer.start(config, registry)) {
                    for (int c : levels) {
                        Stats st = overHttp(server.uri(), c, requests, s);
                        System.out.println(st.row("server (A1111 txt2img)", batching ? windowMs + " ms" : "off", c, loop));
                    }
                }
            }
            // the loop again: if the machine's load changed during the run, the two loop rows differ
            System.out.println(OpenMpTeams.onShortLivedThread("bench", () -> libraryLoop(backend, n, s)).row("library loop (again, after)", "-", 1, loop));
            System.out.printf(Locale.ROOT, "%n# workers %d, load after %s%n", ServerConfig.defaultWorkers(), loadAverage());
        } finally {
            backend.close();
        }
    }

    /** The 1/5/15-minute load averages, so a reader can judge how busy the cores were. */
    static String loadAverage() {
        try {
            return String.join(" ", Arrays.copyOf(java.nio.file.Files.readString(Path.of("/proc/loadavg")).split(" "), 3));
        } catch (java.io.IOException | RuntimeException e) {
            return "unknown";
        }
    }

    private static ImageRequest request(int steps, long seed) {
        return new ImageRequest("bench", PROMPT, "", 0, 0, steps, Double.NaN, seed, null, null, 1, 1, null, null, 1);
    }

    private static Stats libraryLoop(ImageBackend backend, int n, int steps) {
        long[] lat = new long[n];
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            long a = System.nanoTime();
            backend.generate(request(steps, i), (d, t, p) -> true);
            lat[i] = System.nanoTime() - a;
        }
        return new Stats(lat, System.nanoTime() - t0);
    }

    private static Stats overHttp(URI base, int clients, int n, int steps) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        URI uri = base.resolve("/sdapi/v1/txt2img");
        long[] lat = new long[n];
        AtomicInteger next = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        List<Future<?>> done = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int c = 0; c < clients; c++) {
            done.add(pool.submit(() -> {
                for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
                    String body = "{\"model\":\"bench\",\"prompt\":\"" + PROMPT + "\",\"seed\":" + i
                            + (steps > 0 ? ",\"steps\":" + steps : "") + "}";
                    HttpRequest r = HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(5))
                            .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
                    long a = System.nanoTime();
                    HttpResponse<String> resp = http.send(r, HttpResponse.BodyHandlers.ofString());
                    lat[i] = System.nanoTime() - a;
                    if (resp.statusCode() != 200) {
                        throw new IllegalStateException("request " + i + ": HTTP " + resp.statusCode() + " " + resp.body());
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : done) f.get();
        long wall = System.nanoTime() - t0;
        pool.shutdown();
        return new Stats(lat, wall);
    }

    /** Latencies of one configuration and its wall time. */
    private record Stats(long[] latencies, long wallNanos) {
        double imagesPerSecond() {
            return latencies.length / (wallNanos / 1e9);
        }

        double percentileMs(double q) {
            long[] s = latencies.clone();
            Arrays.sort(s);
            int k = (int) Math.ceil(q * s.length) - 1; // nearest-rank percentile
            return s[Math.max(0, Math.min(s.length - 1, k))] / 1e6;
        }

        String row(String path, String batching, int clients, Stats loop) {
            return String.format(Locale.ROOT, "| %s | %s | %d | %.2f | %.0f | %.0f | %.2fx |", path, batching, clients,
                    imagesPerSecond(), percentileMs(0.5), percentileMs(0.95), imagesPerSecond() / loop.imagesPerSecond());
        }
    }
}
