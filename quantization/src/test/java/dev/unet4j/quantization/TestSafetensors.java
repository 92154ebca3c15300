package dev.unet4j.quantization;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/** A minimal test-only safetensors reader for F32 tensors (the core io reader is on another branch). */
final class TestSafetensors {
    record F32(long[] shape, float[] data) {
    }

    static Map<String, F32> readF32(Path file) throws IOException {
        ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        long headerLen = all.getLong(0);
        String header = new String(all.array(), 8, (int) headerLen, StandardCharsets.UTF_8);
        JsonNode root = new ObjectMapper().readTree(header);
        Map<String, F32> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) continue;
            JsonNode t = e.getValue();
            if (!t.get("dtype").asText().equals("F32")) throw new IOException(file + ": tensor " + e.getKey() + " is " + t.get("dtype") + ", expected F32");
            long[] shape = new long[t.get("shape").size()];
            for (int i = 0; i < shape.length; i++) shape[i] = t.get("shape").get(i).asLong();
            long begin = t.get("data_offsets").get(0).asLong(), end = t.get("data_offsets").get(1).asLong();
            float[] data = new float[(int) ((end - begin) / 4)];
            all.duplicate().order(ByteOrder.LITTLE_ENDIAN).position((int) (8 + headerLen + begin)).slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(data);
            out.put(e.getKey(), new F32(shape, data));
        }
        return out;
    }
}
