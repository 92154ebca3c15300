package dev.unet4j.server;

import io.javalin.http.Context;
import org.eclipse.jetty.server.Request;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Reads request bodies with a floor on the client's sending rate. A servlet reads its body on an HTTP thread with
 * blocking reads, and Jetty's idle timeout restarts with every byte: a client sending one byte a second holds a thread
 * for as long as it likes, and a few dozen of them hold every HTTP thread. Here a watchdog closes the connection of any
 * body that, after a grace period of {@link #GRACE_SECONDS}, has arrived slower than {@link #MIN_BYTES_PER_SECOND}
 * on average; the blocked read then fails and the thread is free. Generation workers never read requests: a body is
 * whole before its job is queued.
 */
final class BodyReader implements AutoCloseable {
    /** 4 KiB/s, about 32 kbit/s: any real client is faster; a 1 MB image then may take up to four minutes. */
    static final long MIN_BYTES_PER_SECOND = 4096;
    /** Time every body gets before the rate applies (connection set-up, a first slow packet). */
    static final long GRACE_SECONDS = 3;
    private static final long TICK_MILLIS = 250;

    /** One body being read: when it started, how much has come, and its connection to close. */
    private static final class Reading {
        final long start = System.nanoTime();
        final AtomicLong bytes = new AtomicLong();
        final Request request;
        volatile boolean cut;

        Reading(Request request) {
            this.request = request;
        }

        boolean tooSlow(long now) {
            double seconds = (now - start) / 1e9 - GRACE_SECONDS;
            return seconds > 0 && bytes.get() < MIN_BYTES_PER_SECOND * seconds;
        }
    }

    private final Set<Reading> reading = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "unet4j-body-watchdog");
        t.setDaemon(true);
        return t;
    });

    BodyReader() {
        watchdog.scheduleAtFixedRate(this::cutSlowClients, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
    }

    private void cutSlowClients() {
        long now = System.nanoTime();
        for (Reading r : reading) {
            if (!r.cut && r.tooSlow(now)) {
                r.cut = true;
                r.request.getConnectionMetaData().getConnection().getEndPoint().close();
            }
        }
    }

    /**
     * The whole body, at most {@code maxBytes} (413 beyond; for a chunked body, whose size is not announced).
     *
     * @throws ApiException 408 when the client sent too slowly (its connection is closed), 400 when it closed the
     *                      connection before the end of the body
     */
    byte[] read(Context ctx, long maxBytes) {
        long announced = ctx.contentLength();
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.min(Math.max(announced, 256), 1 << 16));
        consume(ctx, maxBytes, out);
        return out.toByteArray();
    }

    /** Reads and drops up to {@code maxBytes} of the body (so that a client still sending gets the answer, not a reset). */
    void discard(Context ctx, long maxBytes) {
        try {
            consume(ctx, maxBytes, null);
        } catch (ApiException ignored) {
            // too slow, too long or gone: the answer goes out (or not) all the same
        }
    }

    private void consume(Context ctx, long maxBytes, ByteArrayOutputStream out) {
        Request jetty = Http.jettyRequest(ctx);
        Reading r = jetty == null ? null : new Reading(jetty);
        if (r != null) reading.add(r);
        long total = 0;
        try (InputStream in = ctx.req().getInputStream()) {
            byte[] buf = new byte[8192];
            int n;
            while ((n = in.read(buf)) >= 0) {
                total += n;
                if (r != null) r.bytes.addAndGet(n);
                if (total > maxBytes) {
                    throw new ApiException(413, null, "request body over the server's " + maxBytes + " byte limit");
                }
                if (out != null) out.write(buf, 0, n);
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof ApiException a) throw a;
            if (r != null && r.cut) throw tooSlow(total, r);
            throw new ApiException(400, null, "request body incomplete: the connection closed after " + total + " bytes");
        } finally {
            if (r != null) reading.remove(r);
        }
        if (r != null && r.cut) throw tooSlow(total, r);
    }

    private static ApiException tooSlow(long total, Reading r) {
        return new ApiException(408, null, String.format("request body arrived too slowly (%d bytes in %.1f s; at least %d bytes/s "
                + "after %d s) and the connection was closed", total, (System.nanoTime() - r.start) / 1e9, MIN_BYTES_PER_SECOND, GRACE_SECONDS));
    }

    @Override
    public void close() {
        watchdog.shutdownNow();
    }
}
