package dev.unet4j.core.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.unet4j.core.tensor.Tensor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Builds a safetensors file in the canonical layout of the reference implementation: 8-byte little-endian header
 * length, compact JSON header ({@code __metadata__} first, then one {@code {"dtype","shape","data_offsets"}} entry
 * per tensor) padded with spaces to a multiple of 8 bytes, then the tensors' bytes back to back.
 *
 * <p>Tensors are written in the order they were added ({@link Order#INSERTION}, so a file read and rewritten in
 * offset order comes back byte-identical) or, with {@link Order#SAFETENSORS}, in the order the reference
 * {@code save_file} uses (descending dtype alignment, then name). {@link #write} is atomic: the file is written to a
 * temporary file in the same folder, forced to disk and renamed over the target; on any failure the temporary
 * file is deleted and an existing target is left untouched.
 *
 * <p>Sources are read when {@link #write} runs, so added tensors must stay open until then.
 */
public final class SafetensorsWriter {
    /** Order of the tensors in the header and the data region. */
    public enum Order {
        /** As added. */
        INSERTION,
        /** As the safetensors library's {@code save_file}: by dtype, widest alignment first, then by name. */
        SAFETENSORS
    }

    /** Streams exactly the declared number of bytes of one tensor (little-endian elements). */
    @FunctionalInterface
    public interface DataSource {
        void writeTo(WritableByteChannel out) throws IOException;
    }

    private record Entry(String name, DType dtype, long[] shape, long byteLength, DataSource source) {
    }

    private static final JsonFactory JSON = new JsonFactory();
    private static final int CHUNK_FLOATS = 1 << 18;

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private boolean hasMetadata;
    private Order order = Order.INSERTION;

    public SafetensorsWriter order(Order order) {
        this.order = Objects.requireNonNull(order);
        return this;
    }

    /** Sets the {@code __metadata__} map (written, in this order, even when empty). */
    public SafetensorsWriter metadata(Map<String, String> metadata) {
        this.metadata.clear();
        this.metadata.putAll(metadata);
        this.hasMetadata = true;
        return this;
    }

    /** Adds one {@code __metadata__} entry. */
    public SafetensorsWriter putMetadata(String key, String value) {
        metadata.put(Objects.requireNonNull(key), Objects.requireNonNull(value));
        hasMetadata = true;
        return this;
    }

    /** Adds a float32 tensor (any layout; written row-major). It is read at {@link #write} time. */
    public SafetensorsWriter add(String name, Tensor tensor) {
        long[] shape = tensor.shape();
        long bytes = Math.multiplyExact(Tensor.numel(shape), (long) Float.BYTES);
        return add(name, DType.F32, shape, bytes, out -> writeTensor(tensor, out));
    }

    /** Adds float32 values (row-major). */
    public SafetensorsWriter add(String name, float[] data, long... shape) {
        checkCount(name, data.length, shape);
        float[] copy = data.clone();
        return add(name, DType.F32, shape, (long) copy.length * Float.BYTES, out -> {
            ByteBuffer b = ByteBuffer.allocate(copy.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(copy);
            writeAll(out, b);
        });
    }

    /** Adds longs as an I64 tensor. */
    public SafetensorsWriter add(String name, long[] data, long... shape) {
        checkCount(name, data.length, shape);
        ByteBuffer b = ByteBuffer.allocate(data.length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(data);
        return addRaw(name, DType.I64, shape, b);
    }

    /** Adds raw little-endian element bytes of any dtype. */
    public SafetensorsWriter addRaw(String name, DType dtype, long[] shape, byte[] data) {
        return addRaw(name, dtype, shape, ByteBuffer.wrap(data.clone()));
    }

    /** Adds raw little-endian element bytes (position to limit) of any dtype; the buffer is read at write time. */
    public SafetensorsWriter addRaw(String name, DType dtype, long[] shape, ByteBuffer data) {
        ByteBuffer view = data.slice();
        return add(name, dtype, shape, view.remaining(), out -> writeAll(out, view.duplicate()));
    }

    /** Adds a tensor whose {@code byteLength} bytes {@code source} streams at write time. */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, long byteLength, DataSource source) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(source, "source");
        if (name.equals(SafetensorsHeader.METADATA_KEY)) throw new IllegalArgumentException("tensor name " + name + " is reserved");
        if (entries.containsKey(name)) throw new IllegalArgumentException("tensor '" + name + "' added twice");
        long[] s = shape.clone();
        long expected = 1;
        for (long d : s) {
            if (d < 0) throw new IllegalArgumentException("tensor '" + name + "': negative dimension in " + Arrays.toString(s));
            expected = Math.multiplyExact(expected, d);
        }
        expected = Math.multiplyExact(expected, (long) dtype.byteSize());
        if (byteLength != expected) {
            throw new IllegalArgumentException("tensor '" + name + "': " + byteLength + " bytes for " + dtype + " "
                    + Arrays.toString(s) + ", which needs " + expected);
        }
        entries.put(name, new Entry(name, dtype, s, byteLength, source));
        return this;
    }

    /** Names in the order they will be written. */
    public List<String> names() {
        return ordered().stream().map(Entry::name).toList();
    }

    private List<Entry> ordered() {
        List<Entry> list = new ArrayList<>(entries.values());
        if (order == Order.SAFETENSORS) {
            // Rust's String ordering is by UTF-8 bytes; Java's compareTo (UTF-16 units) differs only beyond the BMP.
            list.sort(Comparator.comparing((Entry e) -> e.dtype()).reversed()
                    .thenComparing((a, b) -> Arrays.compareUnsigned(utf8(a.name()), utf8(b.name()))));
        }
        return list;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** The header as written: JSON padded with spaces to a multiple of 8 bytes (without the 8-byte length). */
    public byte[] headerBytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            if (hasMetadata) {
                g.writeObjectFieldStart(SafetensorsHeader.METADATA_KEY);
                for (Map.Entry<String, String> e : metadata.entrySet()) g.writeStringField(e.getKey(), e.getValue());
                g.writeEndObject();
            }
            long offset = 0;
            for (Entry e : ordered()) {
                g.writeObjectFieldStart(e.name());
                g.writeStringField("dtype", e.dtype().safetensorsName());
                g.writeArrayFieldStart("shape");
                for (long d : e.shape()) g.writeNumber(d);
                g.writeEndArray();
                g.writeArrayFieldStart("data_offsets");
                g.writeNumber(offset);
                g.writeNumber(offset + e.byteLength());
                g.writeEndArray();
                g.writeEndObject();
                offset += e.byteLength();
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("in-memory JSON generation failed", e);
        }
        int pad = (8 - out.size() % 8) % 8;
        for (int i = 0; i < pad; i++) out.write(' ');
        return out.toByteArray();
    }

    /** Writes the file atomically (see the class comment). */
    public void write(Path target) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        byte[] header = headerBytes();
        Path tmp = TempPaths.createFile(dir, "." + abs.getFileName() + ".", ".tmp");
        boolean done = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
                writeAll(ch, len);
                writeAll(ch, ByteBuffer.wrap(header));
                for (Entry e : ordered()) {
                    long before = ch.position();
                    e.source().writeTo(ch);
                    long written = ch.position() - before;
                    if (written != e.byteLength()) {
                        throw new SafetensorsException(target, e.name(), "data source wrote " + written
                                + " bytes, expected " + e.byteLength());
                    }
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            done = true;
            forceDirectory(dir);
        } finally {
            if (!done) Files.deleteIfExists(tmp);
            TempPaths.release(tmp);
        }
    }

    /** Makes the rename durable where the platform allows opening a directory (Linux, macOS); best effort. */
    private static void forceDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // Windows cannot open directories; the rename itself is still atomic.
        }
    }

    private static void checkCount(String name, long count, long[] shape) {
        long n = Tensor.numel(shape);
        if (n != count) {
            throw new IllegalArgumentException("tensor '" + name + "': " + count + " values for shape " + Arrays.toString(shape));
        }
    }

    private static void writeTensor(Tensor tensor, WritableByteChannel out) throws IOException {
        if (!tensor.isContiguous()) {
            try (Tensor c = tensor.copy(dev.unet4j.core.tensor.Allocator.direct())) {
                writeTensor(c, out);
            }
            return;
        }
        ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK_FLOATS * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        long n = tensor.numel();
        for (long at = 0; at < n; at += CHUNK_FLOATS) {
            int len = (int) Math.min(CHUNK_FLOATS, n - at);
            FloatBuffer src = tensor.buffer().floatBuffer(tensor.offset() + at, len);
            chunk.clear();
            chunk.asFloatBuffer().put(src);
            chunk.limit(len * Float.BYTES);
            writeAll(out, chunk);
        }
    }

    private static void writeAll(WritableByteChannel out, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) out.write(b);
    }
}
