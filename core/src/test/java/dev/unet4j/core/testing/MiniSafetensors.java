package dev.unet4j.core.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A minimal test-only safetensors reader (F32, F64, I64 into Java arrays), independent of the production reader so
 * that kernel tests can read golden data on their own. Format: 8-byte little-endian header length, a JSON header
 * {@code name -> {dtype, shape, data_offsets}}, then the raw little-endian data.
 */
public final class MiniSafetensors {
    /** One stored tensor: its shape and values (F32 as float[], F64 as double[], I64 as long[]). */
    public record Entry(String dtype, long[] shape, Object values) {
        public float[] floats() {
            if (values instanceof float[] f) return f;
            throw new IllegalStateException("tensor is " + dtype + ", not F32");
        }

        public long[] longs() {
            if (values instanceof long[] l) return l;
            throw new IllegalStateException("tensor is " + dtype + ", not I64");
        }

        /** The shape as ints (the sizes the tests' heap arrays take). */
        public int[] intShape() {
            int[] s = new int[shape.length];
            for (int i = 0; i < s.length; i++) s[i] = Math.toIntExact(shape[i]);
            return s;
        }

        /** Values of any numeric dtype widened to double. */
        public double[] doubles() {
            if (values instanceof double[] d) return d;
            if (values instanceof float[] f) {
                double[] d = new double[f.length];
                for (int i = 0; i < f.length; i++) d[i] = f[i];
                return d;
            }
            long[] l = (long[]) values;
            double[] d = new double[l.length];
            for (int i = 0; i < l.length; i++) d[i] = l[i];
            return d;
        }
    }

    private final Path file;
    private final Map<String, Entry> entries;

    private MiniSafetensors(Path file, Map<String, Entry> entries) {
        this.file = file;
        this.entries = entries;
    }

    public static MiniSafetensors read(Path file) {
        try {
            byte[] all = Files.readAllBytes(file);
            ByteBuffer bb = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
            long headerLen = bb.getLong(0);
            if (headerLen <= 0 || 8 + headerLen > all.length) throw new IOException("bad header length " + headerLen);
            JsonNode header = new ObjectMapper().readTree(new String(all, 8, (int) headerLen, java.nio.charset.StandardCharsets.UTF_8));
            int dataStart = 8 + (int) headerLen;
            Map<String, Entry> entries = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                if (f.getKey().equals("__metadata__")) continue;
                JsonNode n = f.getValue();
                String dtype = n.get("dtype").asText();
                long[] shape = new long[n.get("shape").size()];
                for (int i = 0; i < shape.length; i++) shape[i] = n.get("shape").get(i).asLong();
                int begin = dataStart + n.get("data_offsets").get(0).asInt(), end = dataStart + n.get("data_offsets").get(1).asInt();
                ByteBuffer data = bb.slice(begin, end - begin).order(ByteOrder.LITTLE_ENDIAN);
                Object values = switch (dtype) {
                    case "F32" -> {
                        float[] a = new float[(end - begin) / 4];
                        data.asFloatBuffer().get(a);
                        yield a;
                    }
                    case "F64" -> {
                        double[] a = new double[(end - begin) / 8];
                        data.asDoubleBuffer().get(a);
                        yield a;
                    }
                    case "I64" -> {
                        long[] a = new long[(end - begin) / 8];
                        data.asLongBuffer().get(a);
                        yield a;
                    }
                    default -> throw new IOException("unsupported dtype " + dtype + " of " + f.getKey());
                };
                entries.put(f.getKey(), new Entry(dtype, shape, values));
            }
            return new MiniSafetensors(file, entries);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read safetensors " + file + ": " + e.getMessage(), e);
        }
    }

    public Entry get(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new IllegalArgumentException("no tensor '" + name + "' in " + file + " (has " + entries.keySet() + ")");
        return e;
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    /** Every tensor, in the header's order. */
    public Map<String, Entry> entries() {
        return java.util.Collections.unmodifiableMap(entries);
    }
}
