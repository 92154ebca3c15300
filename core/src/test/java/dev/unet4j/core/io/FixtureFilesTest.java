package dev.unet4j.core.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every safetensors file of the golden data, read by {@link SafetensorsFile} and by an independent plain parse. */
class FixtureFilesTest {

    static List<Path> allFixtureFiles() throws IOException {
        List<Path> files = new ArrayList<>();
        for (String dir : new String[]{"fixtures", "models"}) {
            try (Stream<Path> s = Files.walk(Fixtures.shared().resolve(dir))) {
                s.filter(p -> p.toString().endsWith(".safetensors")).sorted().forEach(files::add);
            }
        }
        assertTrue(files.size() >= 10, "expected the golden safetensors files, found " + files);
        return files;
    }

    /** Independent reading: header through plain Jackson, values through RandomAccessFile. */
    record Plain(long headerLength, JsonNode header) {
        static Plain read(Path p) throws IOException {
            try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "r")) {
                long n = Long.reverseBytes(raf.readLong());
                byte[] h = new byte[(int) n];
                raf.readFully(h);
                return new Plain(n, new ObjectMapper().readTree(h));
            }
        }

        List<String> tensorNames() {
            List<String> names = new ArrayList<>();
            header.fieldNames().forEachRemaining(k -> {
                if (!k.equals("__metadata__")) names.add(k);
            });
            return names;
        }

        float[] f32(Path p, String name) throws IOException {
            byte[] raw = bytes(p, name);
            float[] out = new float[raw.length / 4];
            for (int i = 0; i < out.length; i++) {
                int b = i * 4;
                out[i] = Float.intBitsToFloat((raw[b] & 0xff) | (raw[b + 1] & 0xff) << 8 | (raw[b + 2] & 0xff) << 16 | (raw[b + 3] & 0xff) << 24);
            }
            return out;
        }

        long[] i64(Path p, String name) throws IOException {
            JsonNode t = header.get(name);
            long begin = t.get("data_offsets").get(0).asLong(), end = t.get("data_offsets").get(1).asLong();
            long[] out = new long[(int) ((end - begin) / 8)];
            try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "r")) {
                raf.seek(8 + headerLength + begin);
                for (int i = 0; i < out.length; i++) out[i] = Long.reverseBytes(raf.readLong());
            }
            return out;
        }

        /** F16 values decoded here by the IEEE 754 binary16 definition (sign, 5-bit exponent bias 15, 10-bit fraction). */
        float[] f16(Path p, String name) throws IOException {
            byte[] raw = bytes(p, name);
            float[] out = new float[raw.length / 2];
            for (int i = 0; i < out.length; i++) {
                int h = (raw[2 * i] & 0xff) | (raw[2 * i + 1] & 0xff) << 8;
                int sign = (h >> 15) == 0 ? 1 : -1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
                double v = exp == 0 ? frac * Math.pow(2, -24)
                        : exp == 31 ? (frac == 0 ? Double.POSITIVE_INFINITY : Double.NaN)
                        : (1 + frac / 1024.0) * Math.pow(2, exp - 15);
                out[i] = (float) (sign * v);
            }
            return out;
        }

        byte[] bytes(Path p, String name) throws IOException {
            JsonNode t = header.get(name);
            long begin = t.get("data_offsets").get(0).asLong(), end = t.get("data_offsets").get(1).asLong();
            byte[] raw = new byte[(int) (end - begin)];
            try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "r")) {
                raf.seek(8 + headerLength + begin);
                raf.readFully(raw);
            }
            return raw;
        }

        /** {@code __metadata__} as the format allows it: any string-to-string map (absent = empty). */
        Map<String, String> metadata() {
            JsonNode meta = header.get("__metadata__");
            Map<String, String> out = new LinkedHashMap<>();
            if (meta != null) meta.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().textValue()));
            return out;
        }
    }

    @Test
    void everyFixtureFileMatchesAnIndependentParse() throws IOException {
        int tensors = 0, i64 = 0, f16 = 0, scalars = 0;
        for (Path p : allFixtureFiles()) {
            Plain plain = Plain.read(p);
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                assertEquals(plain.tensorNames(), f.names(), p.toString());
                assertEquals(8 + plain.headerLength(), f.dataStart());
                assertEquals(plain.metadata(), f.metadata(), p.toString());
                for (String name : f.names()) {
                    JsonNode h = plain.header().get(name);
                    TensorInfo info = f.info(name);
                    assertEquals(h.get("dtype").asText(), info.dtype().safetensorsName());
                    long[] shape = new long[h.get("shape").size()];
                    for (int d = 0; d < shape.length; d++) shape[d] = h.get("shape").get(d).asLong();
                    assertArrayEquals(shape, info.shape(), name);
                    assertEquals(h.get("data_offsets").get(0).asLong(), info.begin());
                    assertEquals(h.get("data_offsets").get(1).asLong(), info.end());
                    if (info.dtype() == DType.F32 || info.dtype() == DType.F16) {
                        float[] expected = info.dtype() == DType.F32 ? plain.f32(p, name) : plain.f16(p, name);
                        try (Tensor t = f.load(name, Allocator.direct())) {
                            assertArrayEquals(shape, t.shape());
                            assertArrayEquals(expected, t.toFloatArray(), p + " " + name);
                        }
                        if (info.dtype() == DType.F16) f16++;
                        if (shape.length == 0) scalars++;
                    } else {
                        assertEquals(DType.I64, info.dtype(), p + " " + name);
                        long[] expected = plain.i64(p, name);
                        assertArrayEquals(expected, f.readLongs(name));
                        try (Tensor t = f.load(name, Allocator.direct())) {
                            float[] asFloat = new float[expected.length];
                            for (int k = 0; k < expected.length; k++) asFloat[k] = expected[k];
                            assertArrayEquals(asFloat, t.toFloatArray());
                        }
                        i64++;
                    }
                    tensors++;
                }
            }
        }
        assertTrue(tensors > 1000, "tensors checked: " + tensors);
        assertTrue(i64 >= 2, "the two trajectories' timesteps at least: " + i64);
        assertTrue(f16 >= 980, "the single-file checkpoint's 980 F16 tensors at least: " + f16);
        assertTrue(scalars >= 1, "the LoRA's 0-dim alphas: " + scalars);
    }

    /** Small mapping windows (tensors split across many maps) give the same values as the independent parse. */
    @Test
    void smallWindowsGiveTheSameValues() throws IOException {
        Path p = Fixtures.fixture("unet2d-cond-sd-tiny/trajectory-ddim.safetensors");
        Plain plain = Plain.read(p);
        try (SafetensorsFile f = SafetensorsFile.open(p, 104)) {
            for (String name : f.names()) {
                if (f.info(name).dtype() == DType.I64) {
                    assertArrayEquals(plain.i64(p, name), f.readLongs(name));
                    continue;
                }
                try (Tensor t = f.load(name, Allocator.direct())) {
                    assertArrayEquals(plain.f32(p, name), t.toFloatArray(), name);
                }
                assertArrayEquals(plain.f32(p, name), asFloats(f.readBytes(name)), name);
            }
        }
    }

    /** Loading into an existing NHWC-strided tensor keeps the logical (NCHW) values. */
    @Test
    void loadIntoAChannelsLastTarget() throws IOException {
        Path p = Fixtures.fixture("unet2d-ddpm-tiny/diffusion_pytorch_model.safetensors");
        Plain plain = Plain.read(p);
        try (SafetensorsFile f = SafetensorsFile.open(p);
             Tensor nhwc = Tensor.allocateChannelsLast(Allocator.direct(), 32, 3, 3, 3);
             Tensor plainTarget = Tensor.allocate(32, 3, 3, 3)) {
            f.loadInto("conv_in.weight", nhwc);
            assertTrue(nhwc.isChannelsLast());
            assertArrayEquals(plain.f32(p, "conv_in.weight"), nhwc.toFloatArray());
            f.loadInto("conv_in.weight", plainTarget);
            assertArrayEquals(plain.f32(p, "conv_in.weight"), plainTarget.toFloatArray());
            SafetensorsException e = org.junit.jupiter.api.Assertions.assertThrows(SafetensorsException.class,
                    () -> f.loadInto("conv_in.bias", plainTarget));
            assertTrue(e.getMessage().contains("'conv_in.bias'") && e.getMessage().contains("[32]"), e.getMessage());
        }
    }

    @Test
    void trajectoryTimestepsAreTheDocumentedI64Values() throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(Fixtures.fixture("unet2d-ddpm-tiny/trajectory-ddim.safetensors"))) {
            assertEquals(DType.I64, f.info("timesteps").dtype());
            assertArrayEquals(new long[]{900, 800, 700, 600, 500, 400, 300, 200, 100, 0}, f.readLongs("timesteps"));
        }
        try (SafetensorsFile f = SafetensorsFile.open(Fixtures.fixture("unet2d-cond-sd-tiny/trajectory-ddim.safetensors"))) {
            assertArrayEquals(new long[]{901, 801, 701, 601, 501, 401, 301, 201, 101, 1}, f.readLongs("timesteps"));
        }
    }

    @Test
    void spotValuesOfTheDdpmInputs() throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(Fixtures.fixture("unet2d-ddpm-tiny/inputs.safetensors"));
             Tensor ts = f.load("timestep", Allocator.direct());
             Tensor sample = f.load("sample", Allocator.direct())) {
            assertArrayEquals(new float[]{10f, 731f}, ts.toFloatArray()); // README: timestep [2] = [10, 731]
            float max = 0;
            for (float v : sample.toFloatArray()) max = Math.max(max, Math.abs(v));
            assertEquals(3.59f, max, 0.005f); // README: sample max 3.59
            assertEquals("pt", f.metadata().get("format"));
        }
    }

    @Test
    void randnFileHasMetadataLastAndLoads() throws IOException {
        Path p = Fixtures.fixture("rng/torch-randn.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals("pt", f.metadata().get("format"));
            assertFalse(f.names().contains("__metadata__"));
            Plain plain = Plain.read(p);
            Iterator<String> it = plain.header().fieldNames();
            String last = null;
            while (it.hasNext()) last = it.next();
            assertEquals("__metadata__", last);
            try (Tensor t = f.load("seed0_7", Allocator.direct())) {
                assertArrayEquals(plain.f32(p, "seed0_7"), t.toFloatArray());
                assertArrayEquals(new long[]{7}, t.shape());
            }
            assertArrayEquals(plain.f32(p, "seed0_16"), asFloats(f.readBytes("seed0_16")));
            assertEquals(64, f.slice("seed0_16").remaining());
        }
    }

    static float[] asFloats(byte[] le) {
        float[] out = new float[le.length / 4];
        java.nio.ByteBuffer.wrap(le).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }
}
