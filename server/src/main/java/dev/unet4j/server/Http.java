package dev.unet4j.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.server.Request;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;

/** Response writing and client-disconnect detection shared by the routes. */
final class Http {
    private Http() {
    }

    static void json(Context ctx, int status, Object body) {
        try {
            ctx.status(status).contentType("application/json").result(Fields.JSON.writeValueAsBytes(body));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise a response", e);
        }
    }

    static ObjectNode object() {
        return Fields.JSON.createObjectNode();
    }

    /** The JSON error body: {@code {"error": {"message", "type", "param", "code"}}}. */
    static void error(Context ctx, ApiException e) {
        for (Map.Entry<String, String> h : e.headers().entrySet()) ctx.header(h.getKey(), h.getValue());
        ObjectNode err = object();
        err.put("message", e.getMessage());
        err.put("type", e.type());
        if (e.param() == null) err.putNull("param");
        else err.put("param", e.param());
        err.put("code", e.status());
        ObjectNode body = object();
        body.set("error", err);
        json(ctx, e.status(), body);
    }

    /**
     * Cancels {@code job} if the client's connection fails or closes while it runs (Jetty's request failure
     * listener and a connection listener; the waiting loop also polls the end point).
     */
    static void cancelOnDisconnect(Context ctx, Job job) {
        Request request = jettyRequest(ctx);
        if (request == null) return;
        request.addFailureListener(t -> job.cancel("client disconnected"));
        Connection c = request.getConnectionMetaData().getConnection();
        Connection.Listener l = new Connection.Listener() {
            @Override
            public void onClosed(Connection connection) {
                job.cancel("client disconnected");
            }
        };
        c.addEventListener(l);
        Request.addCompletionListener(request, t -> c.removeEventListener(l));
    }

    /**
     * Whether the client's connection is still open (true when it cannot be told). Jetty does not read an HTTP/1.1
     * connection while its request is being handled, so a client that closes its socket is only noticed by
     * reading: the body has been read already and clients do not pipeline, so one byte is read from the end point;
     * end of stream means gone. Should a pipelined byte arrive, it cannot be put back: the connection is then closed
     * after this response ({@code Connection: close}) and the client retries its next request.
     */
    static boolean connected(Context ctx) {
        Request request = jettyRequest(ctx);
        if (request == null) return true;
        EndPoint ep = request.getConnectionMetaData().getConnection().getEndPoint();
        if (!ep.isOpen() || ep.isInputShutdown()) return false;
        try {
            ByteBuffer probe = BufferUtil.allocate(1);
            int n = ep.fill(probe);
            if (n > 0) ctx.header("Connection", "close");
            return n >= 0;
        } catch (IOException e) {
            return false;
        }
    }

    /** The context attribute holding the request body, read by {@link UnetServer}'s guard before the route runs. */
    static final String BODY = "unet4j.body";

    /** The body of a POST, already read whole (empty when there was none). */
    static byte[] body(Context ctx) {
        byte[] b = ctx.attribute(BODY);
        return b == null ? new byte[0] : b;
    }

    static Request jettyRequest(Context ctx) {
        try {
            return ServletContextRequest.getServletContextRequest(ctx.req());
        } catch (IllegalStateException e) {
            return null;
        }
    }

    /**
     * Waits for a job the client waits for synchronously, cancelling it when the client goes away; returns its
     * final snapshot.
     */
    static Job.Snapshot await(Context ctx, Job job) {
        cancelOnDisconnect(ctx, job);
        Job.Snapshot s = job.snapshot();
        try {
            while (!s.finished()) {
                s = job.awaitChange(s.version(), 200);
                if (!connected(ctx)) job.cancel("client disconnected");
            }
        } catch (InterruptedException e) {
            job.cancel("server stopping");
            Thread.currentThread().interrupt();
            throw new ApiException(503, null, "the server is stopping");
        }
        return s;
    }

    /** A finished job's images, or the error that ended it (409 interrupted, 504 timeout, 500 failure). */
    static java.util.List<GeneratedImage> imagesOrThrow(Job.Snapshot s) {
        return switch (s.state()) {
            case DONE -> s.images();
            case CANCELLED -> {
                String why = s.cancelReason() == null ? "cancelled" : s.cancelReason();
                if (why.equals("timeout")) throw new ApiException(504, null, "the generation ran past the server's time limit and was stopped");
                throw new ApiException(409, null, "the generation was stopped (" + why + ") after step " + s.done() + " of " + s.total());
            }
            case FAILED -> throw new ApiException(500, null, "generation failed: " + s.error());
            default -> throw new IllegalStateException("job " + s.id() + " is not finished");
        };
    }
}
