package dev.unet4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class SmokeTest {
    @Test
    void txt2img() throws Exception {
        try (ServerHarness h = new ServerHarness(ServerHarness.config()); ServerHarness.Library lib = new ServerHarness.Library()) {
            HttpResponse<String> r = h.post("/sdapi/v1/txt2img", "{\"prompt\":\"7\",\"seed\":42,\"steps\":10}");
            System.out.println(r.statusCode() + " " + r.body().substring(0, Math.min(500, r.body().length())));
            JsonNode j = ServerHarness.json(r);
            assertEquals(200, r.statusCode());
            assertArrayEquals(lib.png(7, 42, 10, 1.5, "ddim", 16), ServerHarness.b64(j.get("images").get(0)));
            HttpResponse<String> page = h.get("/");
            System.out.println(page.statusCode() + " " + page.headers().firstValue("content-type") + " " + page.body().length());
        }
    }
}
