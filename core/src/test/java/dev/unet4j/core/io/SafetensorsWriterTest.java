package dev.unet4j.core.io;

import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsWriterTest {
    @TempDir
    Path dir;

    /**
     * Rewriting every golden file (tensors in offset order, same metadata) reproduces it byte for byte when its
     * header has the reference layout ({@code __metadata__} first); otherwise the header means the same and the data
     * region is identical.
     */
    @Test
    void fixtureFilesRoundTripByteExactly() throws IOException {
        int exact = 0, semantic = 0;
        for (Path src : FixtureFilesTest.allFixtureFiles()) {
            Path out = dir.resolve("copy.safetensors");
            try (SafetensorsFile f = SafetensorsFile.open(src)) {
                SafetensorsWriter w = new SafetensorsWriter();
                if (!f.metadata().isEmpty()) w.metadata(f.metadata());
                List<TensorInfo> byOffset = f.infos();
                byOffset.sort(Comparator.comparingLong(TensorInfo::begin));
                for (TensorInfo t : byOffset) w.addRaw(t.name(), t.dtype(), t.shape(), f.slice(t.name()));
                w.write(out);
            }
            byte[] original = Files.readAllBytes(src), copy = Files.readAllBytes(out);
            FixtureFilesTest.Plain a = FixtureFilesTest.Plain.read(src), b = FixtureFilesTest.Plain.read(out);
            if (a.header().fieldNames().next().equals("__metadata__") || a.header().get("__metadata__") == null) {
                assertArrayEquals(original, copy, "byte-exact rewrite of " + src);
                exact++;
            } else {
                assertEquals(a.header(), b.header(), "header of " + src);
                assertEquals(a.headerLength(), b.headerLength());
                assertArrayEquals(Arrays.copyOfRange(original, (int) (8 + a.headerLength()), original.length),
                        Arrays.copyOfRange(copy, (int) (8 + b.headerLength()), copy.length), "data of " + src);
                semantic++;
            }
        }
        assertTrue(exact >= 8, "byte-exact files: " + exact);
        assertTrue(semantic >= 1, "metadata-last files: " + semantic);
    }

    /** Byte vectors from the safetensors reference implementation's own serialization tests. */
    @Test
    void matchesTheReferenceImplementationsTestVectors() throws IOException {
        ByteBuffer data = ByteBuffer.allocate(24).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 6; i++) data.putFloat(i);
        assertFile(new SafetensorsWriter().addRaw("attn.0", DType.F32, new long[]{1, 2, 3}, data.array()),
                "64 0 0 0 0 0 0 0 {\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}",
                data.array());
        assertFile(new SafetensorsWriter().addRaw("attn0", DType.F32, new long[]{1, 1, 2, 3}, data.array()),
                "72 0 0 0 0 0 0 0 {\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ",
                data.array());
        assertFile(new SafetensorsWriter(), "8 0 0 0 0 0 0 0 {}      ", new byte[0]);
        assertFile(new SafetensorsWriter().putMetadata("framework", "pt"),
                "40 0 0 0 0 0 0 0 {\"__metadata__\":{\"framework\":\"pt\"}}     ", new byte[0]);
    }

    /** {@code expectedHead}: eight decimal length bytes, a space, then the header text. */
    private void assertFile(SafetensorsWriter w, String expectedHead, byte[] data) throws IOException {
        String[] parts = expectedHead.split(" ", 9);
        ByteBuffer expected = ByteBuffer.allocate(8 + parts[8].length() + data.length);
        for (int i = 0; i < 8; i++) expected.put((byte) Integer.parseInt(parts[i]));
        expected.put(parts[8].getBytes(java.nio.charset.StandardCharsets.UTF_8)).put(data);
        Path p = dir.resolve("v.safetensors");
        w.write(p);
        assertArrayEquals(expected.array(), Files.readAllBytes(p));
        SafetensorsFile.open(p).close();
    }

    @Test
    void safetensorsOrderSortsByDescendingAlignmentThenName() {
        SafetensorsWriter w = new SafetensorsWriter().order(SafetensorsWriter.Order.SAFETENSORS);
        w.addRaw("b16", DType.F16, new long[]{1}, new byte[2]);
        w.addRaw("z32", DType.F32, new long[]{1}, new byte[4]);
        w.addRaw("flag", DType.BOOL, new long[]{1}, new byte[1]);
        w.addRaw("a32", DType.F32, new long[]{1}, new byte[4]);
        w.addRaw("i64", DType.I64, new long[]{1}, new byte[8]);
        w.addRaw("B16", DType.BF16, new long[]{1}, new byte[2]);
        w.addRaw("q", DType.F8_E4M3, new long[]{1}, new byte[1]);
        // Reference Dtype order: BOOL < U8 < I8 < F8_E5M2 < F8_E4M3 < I16 < U16 < F16 < BF16 < I32 < U32 < F32 < F64 < I64 < U64
        assertEquals(List.of("i64", "a32", "z32", "B16", "b16", "q", "flag"), w.names());
        assertEquals(List.of("b16", "z32", "flag", "a32", "i64", "B16", "q"),
                new SafetensorsWriter().addRaw("b16", DType.F16, new long[]{1}, new byte[2])
                        .addRaw("z32", DType.F32, new long[]{1}, new byte[4]).addRaw("flag", DType.BOOL, new long[]{1}, new byte[1])
                        .addRaw("a32", DType.F32, new long[]{1}, new byte[4]).addRaw("i64", DType.I64, new long[]{1}, new byte[8])
                        .addRaw("B16", DType.BF16, new long[]{1}, new byte[2]).addRaw("q", DType.F8_E4M3, new long[]{1}, new byte[1])
                        .names());
    }

    @Test
    void tensorsOfAnyLayoutAreWrittenRowMajor() throws IOException {
        float[] values = new float[2 * 3 * 4 * 5];
        for (int i = 0; i < values.length; i++) values[i] = i * 0.5f - 7f;
        Path p = dir.resolve("t.safetensors");
        try (Tensor contiguous = Tensor.of(values, 2, 3, 4, 5);
             Tensor nhwc = Tensor.allocateChannelsLast(Allocator.direct(), 2, 3, 4, 5)) {
            nhwc.setFrom(values);
            new SafetensorsWriter().add("c", contiguous).add("nhwc", nhwc).add("arr", values, 120).write(p);
        }
        try (SafetensorsFile f = SafetensorsFile.open(p);
             Tensor c = f.load("c", Allocator.direct()); Tensor n = f.load("nhwc", Allocator.direct());
             Tensor a = f.load("arr", Allocator.direct())) {
            assertArrayEquals(values, c.toFloatArray());
            assertArrayEquals(values, n.toFloatArray());
            assertArrayEquals(new long[]{2, 3, 4, 5}, n.shape());
            assertArrayEquals(values, a.toFloatArray());
        }
    }

    @Test
    void invalidAdditionsAreRefused() {
        SafetensorsWriter w = new SafetensorsWriter().addRaw("a", DType.U8, new long[]{1}, new byte[1]);
        assertThrows(IllegalArgumentException.class, () -> w.addRaw("a", DType.U8, new long[]{1}, new byte[1]));
        assertThrows(IllegalArgumentException.class, () -> w.addRaw("__metadata__", DType.U8, new long[]{1}, new byte[1]));
        assertThrows(IllegalArgumentException.class, () -> w.addRaw("b", DType.F32, new long[]{2}, new byte[4]));
        assertThrows(IllegalArgumentException.class, () -> w.addRaw("b", DType.F32, new long[]{-1}, new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> w.add("b", new float[3], 2, 2));
    }

    /** A source that fails half-way leaves neither the target nor a temporary file, and keeps an older target. */
    @Test
    void failedWriteLeavesNoFileBehind() throws IOException {
        Path target = dir.resolve("model.safetensors");
        SafetensorsWriter.DataSource failing = (WritableByteChannel out) -> {
            out.write(ByteBuffer.allocate(100));
            throw new IOException("disk on fire");
        };
        SafetensorsWriter w = new SafetensorsWriter().addRaw("ok", DType.F32, new long[]{4}, new byte[16])
                .add("bad", DType.U8, new long[]{1000}, 1000, failing);
        IOException e = assertThrows(IOException.class, () -> w.write(target));
        assertEquals("disk on fire", e.getMessage());
        assertDirectoryHolds();

        // a source writing the wrong number of bytes is caught too
        SafetensorsWriter shortWriter = new SafetensorsWriter().add("short", DType.U8, new long[]{10}, 10,
                out -> out.write(ByteBuffer.allocate(9)));
        SafetensorsException se = assertThrows(SafetensorsException.class, () -> shortWriter.write(target));
        assertTrue(se.getMessage().contains("'short'") && se.getMessage().contains("wrote 9 bytes"), se.getMessage());
        assertDirectoryHolds();

        // an existing file survives a failed overwrite
        new SafetensorsWriter().putMetadata("v", "1").write(target);
        byte[] before = Files.readAllBytes(target);
        assertThrows(IOException.class, () -> w.write(target));
        assertArrayEquals(before, Files.readAllBytes(target));
        assertDirectoryHolds("model.safetensors");

        // a runtime exception is cleaned up as well
        SafetensorsWriter npe = new SafetensorsWriter().add("x", DType.U8, new long[]{1}, 1, out -> {
            throw new IllegalStateException("bug");
        });
        assertThrows(IllegalStateException.class, () -> npe.write(dir.resolve("other.safetensors")));
        assertDirectoryHolds("model.safetensors");
    }

    private void assertDirectoryHolds(String... names) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(names), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void overwritingReplacesTheFile() throws IOException {
        Path target = dir.resolve("m.safetensors");
        new SafetensorsWriter().add("a", new float[]{1f}, 1).write(target);
        new SafetensorsWriter().add("b", new float[]{2f, 3f}, 2).write(target);
        try (SafetensorsFile f = SafetensorsFile.open(target)) {
            assertEquals(List.of("b"), f.names());
            assertFalse(f.contains("a"));
        }
        assertDirectoryHolds("m.safetensors");
    }
}
