package dev.unet4j.bench;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.unet4j.bench.onnx.OnnxTracer;
import dev.unet4j.core.kernels.Kernels;

import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;

/**
 * One unet4j computation recorded as an ONNX graph ({@link OnnxTracer}) and loaded into ONNX Runtime with the
 * side-by-side settings ({@link OrtSideBySide#sessionOptions}), with the inputs it was recorded on. {@link #check}
 * refuses to go on when ONNX Runtime's output is not unet4j's: timing a wrong export means nothing.
 */
final class OrtTwin implements AutoCloseable {
    final String name;
    final int nodes;
    /** The graph's inputs, by name, with the values they were recorded on. */
    final Map<String, OnnxTracer.Input> inputs;
    private final Path dir;
    private final OrtSession session;
    private final OrtSideBySide.Feeds feeds;

    private OrtTwin(String name, int nodes, Map<String, OnnxTracer.Input> inputs, Path dir, OrtSession session, OrtSideBySide.Feeds feeds) {
        this.name = name;
        this.nodes = nodes;
        this.inputs = inputs;
        this.dir = dir;
        this.session = session;
        this.feeds = feeds;
    }

    /**
     * Traces {@code forward} (which builds the model on the tracer it is given, runs it once and returns
     * {@link OnnxTracer#finish}'s model file) under {@code dir}, then opens the graph in ONNX Runtime.
     */
    static OrtTwin trace(String name, Kernels kernels, Path dir, int threads, Function<OnnxTracer, Path> forward) throws OrtException {
        Path model;
        Map<String, OnnxTracer.Input> inputs;
        int nodes;
        try (OnnxTracer tracer = new OnnxTracer(kernels, dir)) {
            model = forward.apply(tracer);
            inputs = Map.copyOf(tracer.inputValues());
            nodes = tracer.nodeCount();
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSideBySide.Feeds feeds = OrtSideBySide.Feeds.of(env, inputs);
        try (OrtSession.SessionOptions so = OrtSideBySide.sessionOptions(threads)) {
            return new OrtTwin(name, nodes, inputs, dir, env.createSession(model.toString(), so), feeds);
        } catch (OrtException | RuntimeException e) {
            feeds.close();
            throw e;
        }
    }

    /** One ONNX Runtime run: the graph's output. */
    float[] run() {
        try {
            return OrtSideBySide.runOrt(session, feeds);
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime run of " + name + " failed", e);
        }
    }

    /**
     * max|ORT - unet4j| / max|unet4j| of one run against {@code ours}; throws when it is above {@code tolerance} or the
     * sizes differ.
     */
    double check(float[] ours, double tolerance) {
        float[] theirs = run();
        if (theirs.length != ours.length) {
            throw new IllegalStateException(name + ": ONNX Runtime gave " + theirs.length + " values, unet4j " + ours.length);
        }
        double maxRef = 0, maxDiff = 0;
        for (int i = 0; i < ours.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(ours[i]));
            maxDiff = Math.max(maxDiff, Math.abs((double) theirs[i] - ours[i]));
        }
        double rel = maxDiff / Math.max(maxRef, Float.MIN_NORMAL);
        if (!(rel <= tolerance)) {
            throw new IllegalStateException(name + ": ONNX Runtime disagrees with unet4j, max|d| " + maxDiff + " = " + rel
                    + " of max|out| " + maxRef + " (tolerance " + tolerance + "); the export is wrong, timing it means nothing");
        }
        return rel;
    }

    /** Closes the session and deletes the graph and its weights. */
    @Override
    public void close() throws Exception {
        try {
            session.close();
            feeds.close();
        } finally {
            OrtSideBySide.deleteTree(dir);
        }
    }
}
