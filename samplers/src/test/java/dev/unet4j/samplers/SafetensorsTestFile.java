package dev.unet4j.samplers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/** Minimal safetensors reader for the samplers' tests (F32, F64 and I64 tensors, read whole into the heap). */
public final class SafetensorsTestFile {
    private final Path path;
    private final JsonNode header;
    private final ByteBuffer data;

    private SafetensorsTestFile(Path path, JsonNode header, ByteBuffer data) {
        this.path = path;
        this.header = header;
        this.data = data;
    }

    public static SafetensorsTestFile open(Path path) {
        try {
            byte[] all = Files.readAllBytes(path);
            ByteBuffer buf = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
            long n = buf.getLong(0);
            JsonNode header = new ObjectMapper().readTree(new String(all, 8, (int) n, StandardCharsets.UTF_8));
            ByteBuffer data = ByteBuffer.wrap(all, 8 + (int) n, all.length - 8 - (int) n).slice()
                    .order(ByteOrder.LITTLE_ENDIAN);
            return new SafetensorsTestFile(path, header, data);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path, e);
        }
    }

    public List<String> names() {
        List<String> out = new ArrayList<>();
        for (Iterator<String> it = header.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!k.equals("__metadata__")) out.add(k);
        }
        return out;
    }

    private JsonNode entry(String name) {
        JsonNode e = header.get(name);
        if (e == null) throw new IllegalArgumentException("no tensor '" + name + "' in " + path + "; has " + names());
        return e;
    }

    public int[] shape(String name) {
        JsonNode s = entry(name).get("shape");
        int[] out = new int[s.size()];
        for (int i = 0; i < out.length; i++) out[i] = s.get(i).asInt();
        return out;
    }

    public Latents latents(String name) {
        return new Latents(floats(name), shape(name));
    }

    public float[] floats(String name) {
        JsonNode e = entry(name);
        String dtype = e.get("dtype").asText();
        int start = e.get("data_offsets").get(0).asInt();
        int end = e.get("data_offsets").get(1).asInt();
        if (!dtype.equals("F32")) throw new IllegalArgumentException(name + " in " + path + " is " + dtype + ", not F32");
        float[] out = new float[(end - start) / 4];
        for (int i = 0; i < out.length; i++) out[i] = data.getFloat(start + 4 * i);
        return out;
    }

    public long[] longs(String name) {
        JsonNode e = entry(name);
        String dtype = e.get("dtype").asText();
        int start = e.get("data_offsets").get(0).asInt();
        int end = e.get("data_offsets").get(1).asInt();
        if (!dtype.equals("I64")) throw new IllegalArgumentException(name + " in " + path + " is " + dtype + ", not I64");
        long[] out = new long[(end - start) / 8];
        for (int i = 0; i < out.length; i++) out[i] = data.getLong(start + 8 * i);
        return out;
    }
}
