package dev.unet4j.core.io;

import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A read-only, memory-mapped safetensors file.
 *
 * <p>{@link #open} reads and fully validates the header (see {@link SafetensorsException} for what is refused);
 * tensor data is mapped lazily, one tensor region at a time and in windows of at most {@value #MAX_WINDOW_BYTES}
 * bytes, so files and tensors larger than 2 GB work and nothing is copied to the Java heap except what
 * {@link #readBytes} / {@link #readLongs} return. Reads are thread-safe; {@link #close} releases the file channel
 * (mappings already handed out stay valid until garbage-collected).
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Largest region mapped at once: 1 GiB (a multiple of every element size). */
    public static final long MAX_WINDOW_BYTES = 1L << 30;

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final SafetensorsHeader header;
    private final List<String> names;
    private final long windowBytes;
    private volatile boolean closed;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, SafetensorsHeader header, long windowBytes) {
        this.path = path;
        this.windowBytes = windowBytes;
        this.channel = channel;
        this.dataStart = dataStart;
        this.header = header;
        this.names = List.copyOf(header.tensors.keySet());
    }

    /** Opens and validates {@code path}. */
    public static SafetensorsFile open(Path path) throws IOException {
        return open(path, MAX_WINDOW_BYTES);
    }

    /** Opens with a smaller mapping window (a multiple of 8 bytes), so tests can cross window boundaries cheaply. */
    static SafetensorsFile open(Path path, long windowBytes) throws IOException {
        if (windowBytes <= 0 || windowBytes % 8 != 0 || windowBytes > MAX_WINDOW_BYTES) {
            throw new IllegalArgumentException("window of " + windowBytes + " bytes");
        }
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            long size = ch.size();
            if (size < 8) {
                throw new SafetensorsException(path, null, "file is " + size + " bytes, shorter than the 8-byte header length");
            }
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, len, 0);
            int n = SafetensorsHeader.checkHeaderLength(path, size, len.getLong(0));
            ByteBuffer headerBytes = ByteBuffer.allocate(n); // bounded by the checks above
            readFully(ch, headerBytes, 8);
            SafetensorsHeader header = SafetensorsHeader.parse(path, headerBytes.array(), size - 8 - n);
            return new SafetensorsFile(path, ch, 8L + n, header, windowBytes);
        } catch (IOException | RuntimeException | Error e) {
            ch.close();
            throw e;
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer dst, long position) throws IOException {
        while (dst.hasRemaining()) {
            int r = ch.read(dst, position + dst.position());
            if (r < 0) throw new IOException("unexpected end of file at " + (position + dst.position()));
        }
        dst.flip();
    }

    public Path path() {
        return path;
    }

    /** Tensor names in header order (for files written by the safetensors library, also data order). */
    public List<String> names() {
        return names;
    }

    public boolean contains(String name) {
        return header.tensors.containsKey(name);
    }

    /** Header entry of {@code name}. */
    public TensorInfo info(String name) throws SafetensorsException {
        TensorInfo t = header.tensors.get(name);
        if (t == null) {
            throw new SafetensorsException(path, name, "no such tensor (the file has " + names.size() + " tensors)");
        }
        return t;
    }

    /** All header entries, in header order. */
    public List<TensorInfo> infos() {
        return new ArrayList<>(header.tensors.values());
    }

    /** The {@code __metadata__} string map (empty when absent), in header order. */
    public Map<String, String> metadata() {
        return header.metadata;
    }

    /** Absolute file offset of the data region (8 + header length); tensor offsets are relative to it. */
    public long dataStart() {
        return dataStart;
    }

    /**
     * Loads {@code name} as a contiguous float32 tensor of the stored shape from {@code allocator}; every dtype is
     * converted (floats exactly, F64 rounded to nearest; integers as by a {@code (float)} cast). Shape {@code []}
     * gives a rank-0 tensor of one element. The caller owns (closes) the result.
     */
    public Tensor load(String name, Allocator allocator) throws IOException {
        TensorInfo info = info(name);
        Tensor t = Tensor.allocate(allocator, info.shape());
        try {
            loadInto(name, t);
            return t;
        } catch (IOException | RuntimeException | Error e) {
            t.close();
            throw e;
        }
    }

    /** {@link #load(String, Allocator)} with standalone memory ({@link Allocator#direct()}). */
    public Tensor load(String name) throws IOException {
        return load(name, Allocator.direct());
    }

    /**
     * Decodes {@code name} into an existing tensor of the same shape, whatever its layout (e.g. channels-last or a
     * pooled buffer). A contiguous target is filled in place; others go through a temporary contiguous copy.
     */
    public void loadInto(String name, Tensor target) throws IOException {
        TensorInfo info = info(name);
        if (!java.util.Arrays.equals(info.shape(), target.shape())) {
            throw new SafetensorsException(path, name, "shape " + java.util.Arrays.toString(info.shape())
                    + " does not match the target " + target);
        }
        if (!target.isContiguous()) {
            try (Tensor tmp = load(name, Allocator.direct())) {
                target.copyFrom(tmp);
            }
            return;
        }
        long elementSize = info.dtype().byteSize();
        long[] written = {0};
        forEachWindow(info, (window, firstByte) -> {
            long count = window.remaining() / elementSize;
            TensorDecoder.decode(info.dtype(), window, target.buffer().floatBuffer(target.offset() + written[0], count));
            written[0] += count;
        });
    }

    /** Integer or boolean tensor {@code name} as longs (row-major). */
    public long[] readLongs(String name) throws IOException {
        TensorInfo info = info(name);
        if (!info.dtype().isInteger()) {
            throw new SafetensorsException(path, name, "readLongs needs an integer dtype, the tensor is " + info.dtype());
        }
        long n = info.numel();
        if (n > Integer.MAX_VALUE - 8) throw new SafetensorsException(path, name, n + " elements do not fit a Java array");
        long[] out = new long[(int) n];
        int[] at = {0};
        forEachWindow(info, (window, firstByte) -> {
            ByteBuffer s = window.slice().order(ByteOrder.LITTLE_ENDIAN);
            int count = s.remaining() / info.dtype().byteSize();
            for (int i = 0; i < count; i++) {
                long v = TensorDecoder.integerAt(info.dtype(), s, i);
                if (info.dtype() == DType.U64 && v < 0) {
                    throw new SafetensorsException(path, name, "U64 value " + Long.toUnsignedString(v)
                            + " at element " + (at[0] + i) + " does not fit a signed long");
                }
                out[at[0] + i] = v;
            }
            at[0] += count;
        });
        return out;
    }

    /** A copy of {@code name}'s raw little-endian bytes. */
    public byte[] readBytes(String name) throws IOException {
        TensorInfo info = info(name);
        if (info.byteLength() > Integer.MAX_VALUE - 8) {
            throw new SafetensorsException(path, name, info.byteLength() + " bytes do not fit a Java array");
        }
        byte[] out = new byte[(int) info.byteLength()];
        forEachWindow(info, (window, firstByte) -> window.get(out, (int) firstByte, window.remaining()));
        return out;
    }

    /**
     * A read-only little-endian mapping of {@code name}'s raw bytes (no copy). Tensors over 2 GB cannot be one
     * ByteBuffer; use {@link #forEachWindow} for those.
     */
    public ByteBuffer slice(String name) throws IOException {
        TensorInfo info = info(name);
        if (info.byteLength() > Integer.MAX_VALUE) {
            throw new SafetensorsException(path, name, info.byteLength() + " bytes exceed one ByteBuffer; read it in windows");
        }
        return map(info, info.begin(), info.byteLength());
    }

    /** Receives consecutive windows of a tensor's raw bytes. */
    @FunctionalInterface
    public interface WindowConsumer {
        /**
         * @param window    read-only little-endian bytes, a whole number of elements, positioned at 0
         * @param firstByte offset of the window's first byte within the tensor
         */
        void accept(ByteBuffer window, long firstByte) throws IOException;
    }

    /** Maps {@code name}'s bytes window by window (each at most {@link #MAX_WINDOW_BYTES}) and hands them over in order. */
    public void forEachWindow(String name, WindowConsumer consumer) throws IOException {
        forEachWindow(info(name), consumer);
    }

    private void forEachWindow(TensorInfo info, WindowConsumer consumer) throws IOException {
        for (long off = 0; off < info.byteLength(); off += windowBytes) {
            long len = Math.min(windowBytes, info.byteLength() - off);
            try {
                consumer.accept(map(info, info.begin() + off, len), off);
            } catch (InternalError e) {
                // the JVM's SIGBUS on a mapped page that no longer exists: the file shrank (was rewritten) under us
                throw new SafetensorsException(path, info.name(), "the file changed while it was being read (a mapped page"
                        + " of bytes [" + (info.begin() + off) + ", " + (info.begin() + off + len) + ") is gone: "
                        + e.getMessage() + "); do not rewrite a weights file while it is loaded", e);
            }
        }
    }

    private ByteBuffer map(TensorInfo info, long begin, long length) throws IOException {
        if (closed) throw new IllegalStateException("safetensors file " + path + " is closed");
        if (length == 0) return ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN).asReadOnlyBuffer();
        try {
            MappedByteBuffer m = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + begin, length);
            return m.order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new SafetensorsException(path, info.name(), "cannot map bytes [" + begin + ", " + (begin + length)
                    + ") of the data region: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() throws IOException {
        if (closed) return;
        closed = true;
        channel.close();
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + names.size() + " tensors]";
    }
}
