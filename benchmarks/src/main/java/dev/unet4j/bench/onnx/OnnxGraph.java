package dev.unet4j.bench.onnx;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An ONNX graph (opset 17, float32, static shapes) under construction. Small constants are stored inline; weights go
 * to an external-data file next to the model as the ONNX spec describes ({@code location}/{@code offset}/{@code length}),
 * so multi-GB UNets stay under protobuf's 2 GB message limit. Close it to finish the weights file.
 */
final class OnnxGraph implements AutoCloseable {
    static final int OPSET = 17;
    private static final int FLOAT = 1, INT64 = 7;
    private static final int INLINE_LIMIT_BYTES = 4096;

    private final Path dir;
    private final String weightsFile;
    private final OutputStream weights;
    private long weightsOffset;
    private final List<Proto> nodes = new ArrayList<>(), initializers = new ArrayList<>(), inputs = new ArrayList<>(), outputs = new ArrayList<>();
    private int counter;

    OnnxGraph(Path dir, String weightsFile) {
        this.dir = dir;
        this.weightsFile = weightsFile;
        try {
            Files.createDirectories(dir);
            this.weights = new BufferedOutputStream(Files.newOutputStream(dir.resolve(weightsFile)), 1 << 20);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir.resolve(weightsFile), e);
        }
    }

    String fresh(String hint) {
        return hint + "_" + (counter++);
    }

    /** One node with one output; returns the output's name. */
    String node(String op, List<String> in, Attr... attrs) {
        String out = fresh(op);
        Proto n = new Proto();
        for (String i : in) n.string(1, i);
        n.string(2, out).string(3, out).string(4, op);
        for (Attr a : attrs) n.message(5, a.proto());
        nodes.add(n);
        return out;
    }

    String node(String op, String a, Attr... attrs) {
        return node(op, List.of(a), attrs);
    }

    String node(String op, String a, String b, Attr... attrs) {
        return node(op, List.of(a, b), attrs);
    }

    /** A float32 initializer; large ones are appended to the external weights file. */
    String floats(String hint, float[] values, long... dims) {
        String name = fresh(hint);
        Proto t = new Proto();
        for (long d : dims) t.varint(1, d);
        t.varint(2, FLOAT).string(8, name);
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        if (b.capacity() <= INLINE_LIMIT_BYTES) {
            t.bytes(9, b.array());
        } else {
            try {
                weights.write(b.array());
            } catch (IOException e) {
                throw new UncheckedIOException("writing " + weightsFile, e);
            }
            t.message(13, new Proto().string(1, "location").string(2, weightsFile));
            t.message(13, new Proto().string(1, "offset").string(2, Long.toString(weightsOffset)));
            t.message(13, new Proto().string(1, "length").string(2, Long.toString(b.capacity())));
            t.varint(14, 1);
            weightsOffset += b.capacity();
        }
        initializers.add(t);
        return name;
    }

    String scalar(float v) {
        return floats("c", new float[]{v});
    }

    String int64s(long... values) {
        String name = fresh("shape");
        Proto t = new Proto().varint(1, values.length).varint(2, INT64).string(8, name);
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        initializers.add(t.bytes(9, b.array()));
        return name;
    }

    void input(String name, long[] shape) {
        inputs.add(valueInfo(name, shape, FLOAT));
    }

    /** An int64 graph input (token ids). */
    void int64Input(String name, long[] shape) {
        inputs.add(valueInfo(name, shape, INT64));
    }

    void output(String name, long[] shape) {
        outputs.add(valueInfo(name, shape, FLOAT));
    }

    int nodeCount() {
        return nodes.size();
    }

    /** Writes {@code model.onnx}; returns its path. */
    Path writeModel(String graphName) {
        Proto g = new Proto();
        for (Proto n : nodes) g.message(1, n);
        g.string(2, graphName);
        for (Proto i : initializers) g.message(5, i);
        for (Proto i : inputs) g.message(11, i);
        for (Proto o : outputs) g.message(12, o);
        Proto m = new Proto().varint(1, 8).string(2, "unet4j").message(7, g)
                .message(8, new Proto().string(1, "").varint(2, OPSET));
        Path p = dir.resolve("model.onnx");
        try {
            weights.flush();
            Files.write(p, m.toBytes());
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + p, e);
        }
        return p;
    }

    @Override
    public void close() {
        try {
            weights.close();
        } catch (IOException e) {
            throw new UncheckedIOException("closing " + weightsFile, e);
        }
    }

    private static Proto valueInfo(String name, long[] shape, int elementType) {
        Proto dims = new Proto();
        for (long d : shape) dims.message(1, new Proto().varint(1, d));
        Proto tensorType = new Proto().varint(1, elementType).message(2, dims);
        return new Proto().string(1, name).message(2, new Proto().message(1, tensorType));
    }

    /** A node attribute (AttributeProto: FLOAT=1, INT=2, STRING=3, INTS=7). */
    record Attr(String name, Proto value) {
        static Attr i(String name, long v) {
            return new Attr(name, new Proto().string(1, name).varint(20, 2).varint(3, v));
        }

        static Attr f(String name, float v) {
            return new Attr(name, new Proto().string(1, name).varint(20, 1).fixed32(2, v));
        }

        static Attr s(String name, String v) {
            return new Attr(name, new Proto().string(1, name).varint(20, 3).string(4, v));
        }

        static Attr ints(String name, long... v) {
            Proto p = new Proto().string(1, name).varint(20, 7);
            for (long x : v) p.varint(8, x);
            return new Attr(name, p);
        }

        Proto proto() {
            return value;
        }
    }
}
