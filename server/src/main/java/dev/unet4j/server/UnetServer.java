package dev.unet4j.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.javalin.http.staticfiles.Location;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Set;

/**
 * The HTTP server: Javalin on Jetty 12, bound to {@link ServerConfig#host()} (loopback unless told otherwise).
 *
 * <pre>{@code
 * try (ModelRegistry models = ModelRegistry.load(specs, ModelRegistry::loadDefault);
 *      UnetServer server = UnetServer.start(ServerConfig.defaults(), models)) {
 *     server.join();
 * }
 * }</pre>
 *
 * Every request passes, in order: the body size limit (413, before anything is read), the API key check (401), the
 * body read under a minimum data rate (a client trickling its body is cut: {@link BodyReader}), then its route, which validates every field (400 naming it) before queueing work (429 when full). The server borrows
 * the registry: closing it stops HTTP and the workers, not the models.
 */
public final class UnetServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(UnetServer.class);
    /** Paths served without an API key: the page and its files (they hold no data) and the health check. */
    private static final Set<String> OPEN_PATHS = Set.of("/", "/index.html", "/app.js", "/style.css", "/healthz");

    private final ServerConfig config;
    private final GenerationQueue queue;
    private final Javalin app;
    private final BodyReader bodies = new BodyReader();

    private UnetServer(ServerConfig config, ModelRegistry models) {
        this.config = config;
        this.queue = new GenerationQueue(config);
        RequestLimits limits = new RequestLimits(config);
        OpenAiRoutes openAi = new OpenAiRoutes(models, queue, limits);
        A1111Routes a1111 = new A1111Routes(models, queue, limits);
        NativeRoutes nativeRoutes = new NativeRoutes(models, queue, limits, 16 + 2 * (config.workers() + config.queueCapacity()));
        this.app = Javalin.create(c -> configure(c, models, openAi, a1111, nativeRoutes));
    }

    /** Starts serving; the port is bound when this returns. */
    public static UnetServer start(ServerConfig config, ModelRegistry models) {
        UnetServer s = new UnetServer(config, models);
        try {
            s.app.start(config.host(), config.port());
        } catch (RuntimeException e) {
            s.queue.close();
            throw e;
        }
        LOG.info("unet4j serve: listening on {}", s.uri());
        return s;
    }

    private void configure(JavalinConfig c, ModelRegistry models, OpenAiRoutes openAi, A1111Routes a1111, NativeRoutes nativeRoutes) {
        c.startup.showJavalinBanner = false;
        c.startup.showOldJavalinVersionWarning = false;
        c.http.maxRequestSize = config.maxBodyBytes();
        // request threads wait for their generation; enough for every running and queued job plus quick requests
        QueuedThreadPool threads = new QueuedThreadPool(32 + 2 * (config.workers() + config.queueCapacity()), 8);
        threads.setName("unet4j-http");
        c.jetty.threadPool = threads;
        c.staticFiles.add(s -> {
            s.hostedPath = "/";
            s.directory = "/dev/unet4j/server/web";
            s.location = Location.CLASSPATH;
        });
        if (!config.corsOrigins().isEmpty()) {
            c.bundledPlugins.enableCors(cors -> cors.addRule(rule -> {
                String first = config.corsOrigins().get(0);
                rule.allowHost(first, config.corsOrigins().subList(1, config.corsOrigins().size()).toArray(String[]::new));
                rule.exposeHeader("Retry-After");
            }));
        }
        c.routes.before(this::guard);
        c.routes.exception(ApiException.class, (e, ctx) -> Http.error(ctx, e));
        c.routes.exception(HttpResponseException.class, (e, ctx) ->
                Http.error(ctx, new ApiException(e.getStatus(), null, e.getStatus() == 413
                        ? "request body over the server's " + config.maxBodyBytes() + " byte limit" : e.getMessage())));
        c.routes.exception(Exception.class, (e, ctx) -> {
            LOG.error("{} {} failed", ctx.method(), ctx.path(), e);
            Http.error(ctx, new ApiException(500, null, "internal error: " + e));
        });
        c.routes.get("/healthz", ctx -> health(ctx, models));
        c.routes.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(queue.metrics().scrape()));
        openAi.register(c.routes);
        a1111.register(c.routes);
        nativeRoutes.register(c.routes);
    }

    /** Bodies up to this size are read and dropped before a 413, so the client is not reset while still sending. */
    private static final long DISCARD_LIMIT = 1 << 20;

    /**
     * Body size before anything reads it, then the API key, then the body itself (under {@link BodyReader}'s minimum
     * data rate), which the routes take from {@link Http#body}. A client still writing its body when a 413 arrives and
     * the connection closes sees a reset instead of the answer: a body of at most {@link #DISCARD_LIMIT} bytes is
     * therefore read and thrown away (never parsed) first.
     */
    private void guard(Context ctx) {
        long length = ctx.contentLength();
        if (length > config.maxBodyBytes()) {
            if (length <= DISCARD_LIMIT) bodies.discard(ctx, length);
            throw new ApiException(413, null, "request body of " + length + " bytes is over the server's " + config.maxBodyBytes() + " byte limit");
        }
        if (!config.apiKeys().isEmpty() && !OPEN_PATHS.contains(ctx.path()) && !ctx.method().name().equals("OPTIONS")) {
            String auth = ctx.header("Authorization");
            String key = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7) ? auth.substring(7).strip() : null;
            if (key == null || !known(key)) {
                ctx.header("WWW-Authenticate", "Bearer");
                throw new ApiException(401, null, key == null ? "missing API key: send Authorization: Bearer KEY" : "invalid API key");
            }
        }
        if (ctx.method().name().equals("POST")) ctx.attribute(Http.BODY, bodies.read(ctx, config.maxBodyBytes()));
    }

    /** Constant-time comparison against every key, so timing does not reveal a prefix. */
    private boolean known(String key) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        boolean ok = false;
        for (String candidate : config.apiKeys()) ok |= MessageDigest.isEqual(k, candidate.getBytes(StandardCharsets.UTF_8));
        return ok;
    }

    private void health(Context ctx, ModelRegistry models) {
        ObjectNode body = Http.object();
        body.put("status", "ok");
        ArrayNode names = body.putArray("models");
        models.all().forEach(b -> names.add(b.info().name()));
        body.put("workers", config.workers());
        body.put("running", queue.running());
        body.put("queued", queue.queued());
        body.put("queue_capacity", config.queueCapacity());
        Http.json(ctx, 200, body);
    }

    public int port() {
        return app.port();
    }

    public URI uri() {
        String h = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
        return URI.create("http://" + h + ":" + port() + "/");
    }

    /** Blocks until the server is stopped (the serve command's main thread). */
    public void join() throws InterruptedException {
        app.jettyServer().server().join();
    }

    @Override
    public void close() {
        try {
            app.stop();
        } finally {
            try {
                queue.close();
            } finally {
                bodies.close();
            }
        }
    }
}
