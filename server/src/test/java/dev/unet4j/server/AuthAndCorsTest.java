package dev.unet4j.server;

import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.Set;

import static dev.unet4j.server.ServerHarness.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** API keys on and off; CORS off unless origins are configured; loopback binding by default. */
class AuthAndCorsTest {
    private static final String REQUEST = "{\"prompt\":\"7\",\"seed\":1,\"steps\":2}";

    @Test
    void withoutKeysEverythingIsOpen() throws Exception {
        try (ServerHarness h = new ServerHarness(ServerHarness.config())) {
            assertEquals(200, h.get("/v1/models").statusCode());
            assertEquals(200, h.get("/metrics").statusCode());
            assertEquals(200, h.post("/sdapi/v1/txt2img", REQUEST).statusCode());
        }
    }

    @Test
    void withKeysEveryApiRouteNeedsABearerKey() throws Exception {
        try (ServerHarness h = new ServerHarness(ServerHarness.config().withApiKeys(Set.of("s3cret", "other-key")))) {
            for (String path : List.of("/v1/models", "/metrics", "/sdapi/v1/progress", "/sdapi/v1/sd-models", "/v1/generate/x")) {
                HttpResponse<String> none = h.get(path);
                assertError(none, 401, null);
                assertEquals("Bearer", none.headers().firstValue("WWW-Authenticate").orElse(null));
                assertError(h.get(path, "Authorization", "Bearer wrong"), 401, null);
                assertError(h.get(path, "Authorization", "Basic czNjcmV0"), 401, null);
            }
            for (String path : List.of("/v1/images/generations", "/sdapi/v1/txt2img", "/sdapi/v1/interrupt", "/v1/generate")) {
                assertError(h.post(path, REQUEST), 401, null);
                assertError(h.post(path, REQUEST, "Authorization", "Bearer s3cret-but-longer"), 401, null);
            }
            assertEquals(200, h.get("/v1/models", "Authorization", "Bearer s3cret").statusCode());
            assertEquals(200, h.get("/v1/models", "Authorization", "bearer other-key").statusCode());
            assertEquals(200, h.post("/sdapi/v1/txt2img", REQUEST, "Authorization", "Bearer s3cret").statusCode());
            // the page and the health check stay open (they hold no data); the page asks for the key
            assertEquals(200, h.get("/").statusCode());
            assertEquals(200, h.get("/app.js").statusCode());
            assertEquals(200, h.get("/healthz").statusCode());
        }
    }

    @Test
    void corsIsOffByDefault() throws Exception {
        try (ServerHarness h = new ServerHarness(ServerHarness.config())) {
            HttpResponse<String> r = h.get("/v1/models", "Origin", "http://elsewhere.test");
            assertEquals(200, r.statusCode());
            assertTrue(r.headers().firstValue("Access-Control-Allow-Origin").isEmpty(), r.headers().toString());
        }
    }

    @Test
    void corsAllowsOnlyTheConfiguredOrigins() throws Exception {
        try (ServerHarness h = new ServerHarness(ServerHarness.config().withCorsOrigins(List.of("http://app.test")))) {
            HttpResponse<String> ok = h.get("/v1/models", "Origin", "http://app.test");
            assertEquals("http://app.test", ok.headers().firstValue("Access-Control-Allow-Origin").orElse(null), ok.headers().toString());
            HttpResponse<String> other = h.get("/v1/models", "Origin", "http://elsewhere.test");
            assertTrue(other.headers().firstValue("Access-Control-Allow-Origin").isEmpty(), other.headers().toString());
        }
    }

    @Test
    void bindsToLoopbackByDefault() {
        assertEquals("127.0.0.1", ServerConfig.defaults().host());
        assertEquals(7860, ServerConfig.defaults().port());
    }
}
