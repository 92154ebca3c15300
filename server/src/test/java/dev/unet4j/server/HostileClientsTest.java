package dev.unet4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static dev.unet4j.server.ServerHarness.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Clients as an adversary runs them: seeded mutations of valid JSON bodies on every generation route (4xx with a JSON
 * error, or a normal answer; never a 500 or a reset), path names in model fields, request bodies trickled a byte at a
 * time (cut by the server's minimum data rate, holding neither a generation worker nor, for long, an HTTP thread),
 * and thousands of idle connections (no thread each; a normal request still succeeds). {@code
 * -Dunet4j.fuzz.iterations=N} ({@code -Plong}: N/100 = 2,000 bodies) runs longer than the default 150.
 */
class HostileClientsTest {
    static ServerHarness h;

    @BeforeAll
    static void start() throws Exception {
        // 2 workers, 8 queued; small limits so that any body the fuzzer gets accepted is a cheap generation:
        // 16 KiB bodies, 1 KiB images, 16x16 pixels, 2 steps, 100-character prompts, 1 image
        h = new ServerHarness(ServerHarness.config().withLimits(16 << 10, 1 << 10, 16 * 16, 2, 100, 1));
    }

    @AfterAll
    static void stop() {
        h.close();
    }

    private static final String[] ROUTES = {"/v1/images/generations", "/sdapi/v1/txt2img", "/sdapi/v1/img2img", "/v1/generate"};
    private static final String[] BODIES = {
        "{\"prompt\":\"7\",\"n\":1,\"size\":\"16x16\",\"steps\":2,\"seed\":3,\"model\":\"demo-digits\",\"response_format\":\"b64_json\"}",
        "{\"prompt\":\"a 7\",\"width\":16,\"height\":16,\"steps\":2,\"cfg_scale\":1.5,\"seed\":4,\"batch_size\":1,\"n_iter\":1,"
                + "\"sampler_name\":\"Euler\",\"override_settings\":{\"sd_model_checkpoint\":\"demo-digits\"}}",
        "{\"prompt\":\"7\",\"init_images\":[\"" + ValidationTest.PNG_1x1 + "\"],\"denoising_strength\":0.5,\"steps\":2}",
        "{\"prompt\":\"3\",\"width\":16,\"height\":16,\"steps\":2,\"guidance\":1.5,\"sampler\":\"ddim\",\"eta\":0,\"seed\":5,"
                + "\"cache\":\"deepcache:interval=2\",\"model\":\"demo-digits\"}"};
    private static final String[] HOSTILE_VALUES = {"1e400", "-1e400", "NaN", "-0", "9223372036854775808", "-9223372036854775809",
        "2147483648", "0.000000001", "\"\\ud800\"", "\"\\u0000\"", "\"../../../etc/passwd\"", "\"C:\\\\Windows\\\\win.ini\"",
        "\"demo-digits/../demo-digits\"", "\"" + "7".repeat(5000) + "\"", "[" .repeat(3000) + "]".repeat(3000), "{}", "[]", "null",
        "true", "\"\"", "\"\\u202e7\""};

    @Test
    void mutatedJsonBodiesGetAJsonErrorOrAnAnswerNeverA500() throws Exception {
        int property = Integer.getInteger("unet4j.fuzz.iterations", 0);
        int iterations = property > 0 ? property / 100 : 150;
        SplittableRandom rnd = new SplittableRandom(0x5E4FE4L);
        int ok = 0, refused = 0;
        for (int it = 0; it < iterations; it++) {
            int r = rnd.nextInt(ROUTES.length);
            byte[] body = mutate(BODIES[r].getBytes(StandardCharsets.UTF_8), rnd);
            String what = "iteration " + it + " " + ROUTES[r] + ": " + abbreviate(new String(body, StandardCharsets.ISO_8859_1));
            Answer a = rawPost(ROUTES[r], body);
            assertTrue(a.status == 200 || a.status == 202 || (a.status >= 400 && a.status < 500 && a.status != 408), what + " -> " + a.status + " " + a.body);
            JsonNode json = ServerHarness.json(a.httpLike());
            if (a.status < 300) {
                ok++;
            } else {
                assertEquals(a.status, json.get("error").get("code").asInt(), what + " -> " + a.body);
                refused++;
            }
        }
        System.out.printf("server JSON fuzz: %d bodies, %d answered 200/202, %d refused with a 4xx JSON error%n", iterations, ok, refused);
        assertTrue(refused > iterations / 2, ok + " ok, " + refused + " refused");
        assertEquals(200, h.get("/healthz").statusCode());
    }

    @Test
    void pathNamesInModelFieldsAreUnknownModels() throws Exception {
        String[] names = {"../demo-digits", "demo-digits/..", "./demo-digits", "/", "~", "demo-digits\u0000", "..\\\\..\\\\x",
            "file:///etc/passwd", ServerHarness.demoDir().toString(), ServerHarness.demoDir().resolve("config.json").toString(),
            "demo-digits/unet", "DEMO-DIGITS"};
        for (String n : names) {
            String j = Fields.JSON.writeValueAsString(n);
            assertError(h.post("/v1/generate", "{\"prompt\":\"7\",\"model\":" + j + "}"), 400, "model");
            assertError(h.post("/v1/images/generations", "{\"prompt\":\"7\",\"model\":" + j + "}"), 400, "model");
            assertError(h.post("/sdapi/v1/txt2img", "{\"prompt\":\"7\",\"override_settings\":{\"sd_model_checkpoint\":" + j + "}}"), 400,
                    "sd_model_checkpoint");
        }
    }

    /**
     * 80 clients (more than the 52 HTTP threads) each announce a 200-byte body and send one byte per second: they block
     * about 50 HTTP threads in their body reads (Jetty's idle timeout restarts with every byte, so before the rate floor
     * a generation beside them timed out after 120 s). The server cuts each within a few seconds (its minimum request
     * data rate), every HTTP thread comes back, and a generation and the health check are answered meanwhile: the
     * trickling holds no generation worker and an HTTP thread only briefly.
     */
    @Test
    void bodiesTrickledByteByByteAreCutAndHoldNoWorker() throws Exception {
        int clients = 80;
        List<Socket> slow = new ArrayList<>();
        ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor();
        try {
            for (int i = 0; i < clients; i++) {
                Socket s = new Socket("127.0.0.1", h.server.port());
                s.getOutputStream().write(("POST /v1/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{")
                        .getBytes(StandardCharsets.US_ASCII));
                slow.add(s);
            }
            ticker.scheduleAtFixedRate(() -> {
                for (Socket s : slow) {
                    try {
                        s.getOutputStream().write(' ');
                    } catch (IOException gone) {
                        // cut by the server: what the test expects
                    }
                }
            }, 1, 1, TimeUnit.SECONDS);
            Thread.sleep(1500); // every trickling request dispatched and blocked in its body read: all HTTP threads held
            long held = threadsReadingBodies();
            assertTrue(held >= 40, held + " HTTP threads blocked reading trickled bodies (of 52): the attack is real");
            long t0 = System.nanoTime();
            HttpResponse<String> gen = h.post("/sdapi/v1/txt2img", "{\"prompt\":\"7\",\"width\":16,\"height\":16,\"steps\":2,\"seed\":1}");
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertEquals(200, gen.statusCode(), gen.body());
            assertEquals(200, h.get("/healthz").statusCode());
            System.out.printf("a generation beside %d trickling clients: %.1f s%n", clients, seconds);
            assertTrue(seconds < 30, seconds + " s: answered once the trickling clients were cut, not when they finished");
            // every trickling connection is answered (408) or closed by the server, long before it could finish
            int cut = 0;
            for (Socket s : slow) {
                s.setSoTimeout(30_000);
                String head = readHead(s.getInputStream());
                if (head.isEmpty() || head.startsWith("HTTP/1.1 408") || head.startsWith("HTTP/1.1 400")) cut++;
            }
            assertEquals(clients, cut, "trickling connections cut by the server");
            for (int i = 0; i < 50 && threadsReadingBodies() > 0; i++) Thread.sleep(100); // the last ones finishing their error path
            assertEquals(0, threadsReadingBodies(), "every HTTP thread given back");
            assertTrue((System.nanoTime() - t0) / 1e9 < 60, "cut within a minute (they would need 200 s)");
        } finally {
            ticker.shutdownNow();
            for (Socket s : slow) s.close();
        }
    }

    private static long threadsReadingBodies() {
        return Thread.getAllStackTraces().entrySet().stream().filter(e -> e.getKey().getName().startsWith("unet4j-http")
                && java.util.Arrays.stream(e.getValue()).anyMatch(f -> f.getClassName().equals(BodyReader.class.getName()))).count();
    }

    /** A client that stops half-way through its body gets a 400 saying so (it was a 500 "internal error: Early EOF"). */
    @Test
    void aBodyCutShortIsA400NotAnInternalError() throws Exception {
        try (Socket s = new Socket("127.0.0.1", h.server.port())) {
            s.setSoTimeout(30_000);
            s.getOutputStream().write(("POST /v1/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"prompt\"")
                    .getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            String head = readHead(s.getInputStream());
            assertTrue(head.startsWith("HTTP/1.1 400"), head);
            String body = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(body.contains("request body incomplete: the connection closed after 9 bytes"), body);
        }
    }

    /** 2,000 connections that send nothing cost no thread each, and a normal request beside them is answered. */
    @Test
    void twoThousandIdleConnectionsLeaveRoomForNormalRequests() throws Exception {
        int before = ManagementFactory.getThreadMXBean().getThreadCount();
        List<Socket> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 2000; i++) idle.add(new Socket("127.0.0.1", h.server.port()));
            HttpResponse<String> gen = h.post("/sdapi/v1/txt2img", "{\"prompt\":\"7\",\"width\":16,\"height\":16,\"steps\":2,\"seed\":2}");
            assertEquals(200, gen.statusCode(), gen.body());
            int during = ManagementFactory.getThreadMXBean().getThreadCount();
            assertTrue(during - before < 64, "threads " + before + " -> " + during + " with 2000 idle connections");
        } finally {
            for (Socket s : idle) s.close();
        }
    }

    /** One mutation of a JSON body: bytes changed, cut, inserted (JSON syntax, invalid UTF-8), or a value replaced. */
    private static byte[] mutate(byte[] b, SplittableRandom rnd) {
        int pos = rnd.nextInt(b.length);
        return switch (rnd.nextInt(6)) {
            case 0 -> { byte[] o = b.clone(); o[pos] = (byte) rnd.nextInt(256); yield o; }
            case 1 -> java.util.Arrays.copyOf(b, pos);
            case 2 -> splice(b, pos, 0, new byte[] {(byte) "{}[],:\"\\0-e.".charAt(rnd.nextInt(12))});
            case 3 -> splice(b, pos, 0, new byte[] {(byte) 0xC3, (byte) 0x28, (byte) 0xFF, (byte) 0xED, (byte) 0xA0, (byte) 0x80});
            case 4 -> splice(b, pos, 1 + rnd.nextInt(Math.min(8, b.length - pos)), new byte[0]);
            default -> { // the value after a random ':' replaced by a hostile one
                String s = new String(b, StandardCharsets.UTF_8);
                int colon = s.indexOf(':', pos);
                if (colon < 0) colon = s.indexOf(':');
                int end = colon + 1;
                int depth = 0;
                boolean str = false;
                for (; end < s.length(); end++) {
                    char c = s.charAt(end);
                    if (str) { if (c == '\\') end++; else if (c == '"') str = false; continue; }
                    if (c == '"') str = true;
                    else if (c == '{' || c == '[') depth++;
                    else if (c == '}' || c == ']') { if (depth-- == 0) break; }
                    else if (c == ',' && depth == 0) break;
                }
                yield (s.substring(0, colon + 1) + HOSTILE_VALUES[rnd.nextInt(HOSTILE_VALUES.length)] + s.substring(end))
                        .getBytes(StandardCharsets.UTF_8);
            }
        };
    }

    private static byte[] splice(byte[] b, int pos, int remove, byte[] insert) {
        byte[] o = new byte[b.length - remove + insert.length];
        System.arraycopy(b, 0, o, 0, pos);
        System.arraycopy(insert, 0, o, pos, insert.length);
        System.arraycopy(b, pos + remove, o, pos + insert.length, b.length - pos - remove);
        return o;
    }

    /** A status and body read from a raw socket (the JDK client would refuse to send some of these bytes). */
    record Answer(int status, String body) {
        HttpResponse<String> httpLike() {
            return new HttpResponse<>() {
                public int statusCode() { return status; }
                public java.net.http.HttpRequest request() { return null; }
                public java.util.Optional<HttpResponse<String>> previousResponse() { return java.util.Optional.empty(); }
                public java.net.http.HttpHeaders headers() { return null; }
                public String body() { return body; }
                public java.util.Optional<javax.net.ssl.SSLSession> sslSession() { return java.util.Optional.empty(); }
                public java.net.URI uri() { return null; }
                public java.net.http.HttpClient.Version version() { return java.net.http.HttpClient.Version.HTTP_1_1; }
            };
        }
    }

    private static Answer rawPost(String path, byte[] body) throws IOException {
        try (Socket s = new Socket("127.0.0.1", h.server.port())) {
            s.setSoTimeout(120_000);
            OutputStream out = s.getOutputStream();
            out.write(("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: "
                    + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            InputStream in = s.getInputStream();
            String head = readHead(in);
            assertTrue(head.startsWith("HTTP/1.1 "), "no HTTP answer: '" + head + "'");
            int status = Integer.parseInt(head.substring(9, 12));
            int length = -1;
            boolean chunked = false;
            for (String line : head.split("\r\n")) {
                String l = line.toLowerCase(java.util.Locale.ROOT);
                if (l.startsWith("content-length:")) length = Integer.parseInt(l.substring(15).strip());
                if (l.startsWith("transfer-encoding:") && l.contains("chunked")) chunked = true;
            }
            byte[] rest = length >= 0 ? in.readNBytes(length) : in.readAllBytes();
            String text = new String(rest, StandardCharsets.ISO_8859_1); // one char a byte, for the chunk sizes
            if (chunked) text = dechunk(text);
            return new Answer(status, new String(text.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8));
        }
    }

    private static String dechunk(String s) {
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < s.length()) {
            int nl = s.indexOf("\r\n", i);
            int n = Integer.parseInt(s.substring(i, nl).strip(), 16);
            if (n == 0) break;
            out.append(s, nl + 2, nl + 2 + n);
            i = nl + 2 + n + 2;
        }
        return out.toString();
    }

    /** The status line and headers, or "" when the server closed the connection without an answer. */
    private static String readHead(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        try {
            int c;
            while ((c = in.read()) >= 0) {
                sb.append((char) c);
                if (sb.length() >= 4 && sb.substring(sb.length() - 4).equals("\r\n\r\n")) break;
            }
        } catch (java.net.SocketException reset) {
            return "";
        }
        return sb.toString();
    }

    private static String abbreviate(String s) {
        return s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }
}
