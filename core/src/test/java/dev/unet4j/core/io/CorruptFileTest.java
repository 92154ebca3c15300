package dev.unet4j.core.io;

import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Files that break the format: each is refused with a {@link SafetensorsException} naming the file and tensor. */
class CorruptFileTest {
    @TempDir
    Path dir;

    /** 8-byte little-endian length, the header text as given (no padding), then {@code dataBytes} zero bytes. */
    static byte[] file(String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(h.length).put(h).array();
    }

    private SafetensorsException refused(byte[] content, String... fragments) throws IOException {
        Path p = dir.resolve("bad.safetensors");
        Files.write(p, content);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(p).close());
        assertTrue(e.getMessage().contains(p.toString()), "message names the file: " + e.getMessage());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' missing in: " + e.getMessage());
        return e;
    }

    private void accepted(byte[] content) throws IOException {
        Path p = dir.resolve("good.safetensors");
        Files.write(p, content);
        SafetensorsFile.open(p).close();
    }

    @Test
    void validMinimalFilesAreAccepted() throws IOException {
        accepted(file("{}", 0));
        accepted(file("{\"__metadata__\":{\"a\":\"b\"}}   ", 0));
        accepted(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"z\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[8,8]}}", 8));
        // header order need not be offset order
        accepted(file("{\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]},"
                + "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 2));
    }

    @Test
    void tooShortFiles() throws IOException {
        refused(new byte[0], "0 bytes");
        refused(new byte[7], "7 bytes");
    }

    @Test
    void headerLengthIsCheckedBeforeAnythingIsAllocated() throws IOException {
        byte[] huge = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).array();
        refused(huge, "18446744073709551615", "limit");
        byte[] over = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(100_000_001L).array();
        refused(over, "100000001", "limit");
        // unet4j's cap is 16 MiB (parsing a 99 MB header needed over 512 MB of heap), below the format's 100 MB
        byte[] overCap = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(99_000_000L).array();
        refused(overCap, "header length 99000000 exceeds the limit of 16777216 bytes");
        refused(ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(16_777_217L).array(), "16777217", "limit");
        byte[] past = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(16_777_216L).array();
        refused(past, "past the end");
        byte[] oneTooMany = file("{}", 0);
        ByteBuffer.wrap(oneTooMany).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 3);
        refused(oneTooMany, "past the end");
    }

    /**
     * A file rewritten (shrunk) in place while its mapped bytes are read: the JVM turns the SIGBUS into an
     * InternalError; the reader reports the documented IOException naming the file and tensor.
     */
    @Test
    void aFileShrunkWhileMappedGivesAnIOExceptionNotAnInternalError() throws IOException {
        Path p = dir.resolve("shrinking.safetensors");
        new SafetensorsWriter().add("w", new float[1 << 20], 1 << 20).write(p);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> f.forEachWindow("w", (window, first) -> {
                try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.WRITE)) {
                    ch.truncate(4096); // the mapping stays, its pages are gone
                }
                float sum = 0;
                java.nio.FloatBuffer fb = window.asFloatBuffer();
                while (fb.hasRemaining()) sum += fb.get();
                assertTrue(sum >= 0); // not reached
            }));
            assertTrue(e.getMessage().startsWith("safetensors file " + p + ", tensor 'w'"), e.getMessage());
            assertEquals("w", e.tensor());
            assertTrue(e.getMessage().contains("the file changed while it was being read"), e.getMessage());
            assertTrue(e.getCause() instanceof InternalError, String.valueOf(e.getCause()));
        }
    }

    @Test
    void malformedOrNonObjectJson() throws IOException {
        refused(file("{\"a\":", 0), "malformed");
        refused(file("{\"a\":1} x", 0), "malformed"); // trailing tokens
        refused(file("[1,2]", 0), "'{'");
        refused(file("  {}", 0), "'{'");
        refused(file("", 0), "'{'");
        byte[] badUtf8 = file("{\"\u00e9\":1}", 0);
        badUtf8[10] = (byte) 0xff;
        refused(badUtf8, "UTF-8");
        refused(file("{\"a\":1}", 0), "'a'", "not an object");
        refused(file("{\"__metadata__\":{\"k\":1}}", 0), "'k'", "not a string");
        refused(file("{\"__metadata__\":[]}", 0), "__metadata__");
    }

    @Test
    void unknownOrMissingDtype() throws IOException {
        refused(file("{\"t\":{\"dtype\":\"F17\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "'t'", "unknown dtype \"F17\"");
        refused(file("{\"t\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "'t'", "unknown dtype");
        refused(file("{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "'t'", "dtype");
    }

    @Test
    void badShapes() throws IOException {
        refused(file("{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4), "'t'", "shape[0]");
        refused(file("{\"t\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4), "'t'", "not an integer");
        refused(file("{\"t\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4), "'t'", "not an integer");
        refused(file("{\"t\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", 4), "'t'", "out of range");
        refused(file("{\"t\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4), "'t'", "overflows");
        // numel fits a long but the byte size does not
        refused(file("{\"t\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,4]}}", 4), "'t'", "overflows");
        refused(file("{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), "'t'", "shape");
    }

    @Test
    void badOffsets() throws IOException {
        refused(file("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", 4), "'t'", "past the data region");
        refused(file("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4), "'t'", "reversed");
        refused(file("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4), "'t'", "data_offsets");
        refused(file("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,-4]}}", 4), "'t'", "data_offsets[1]");
        // overlap
        refused(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12), "'b'", "overlap", "'a'");
        // the same range twice
        refused(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "overlap");
        // hole between tensors
        refused(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12), "'b'", "gap of 4", "after tensor 'a'");
        // hole before the first tensor
        refused(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), "'a'", "must start at 0");
        // trailing bytes after the last tensor
        refused(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 5), "1 trailing bytes");
        refused(file("{}", 3), "3 trailing bytes");
    }

    @Test
    void byteLengthMustMatchShapeAndDtype() throws IOException {
        refused(file("{\"t\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 12), "'t'", "holds 12 bytes", "needs 16");
        refused(file("{\"t\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,4]}}", 4), "'t'", "needs 6");
    }

    @Test
    void duplicateNamesAreRefused() throws IOException {
        refused(file("{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                + "\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2), "Duplicate", "'t'");
        refused(file("{\"__metadata__\":{},\"__metadata__\":{}}", 0), "Duplicate");
    }

    @Test
    void missingTensorAndClosedFile() throws IOException {
        Path p = dir.resolve("ok.safetensors");
        Files.write(p, file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4));
        SafetensorsFile f = SafetensorsFile.open(p);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> f.load("nope", Allocator.direct()));
        assertTrue(e.getMessage().contains("'nope'") && e.getMessage().contains(p.toString()), e.getMessage());
        assertEquals("nope", e.tensor());
        f.close();
        assertThrows(IllegalStateException.class, () -> f.slice("a"));
    }

    /**
     * A sparse file of about 2.2 GB whose last tensor lies beyond 2^31 bytes: it loads, and a big tensor's bytes past
     * 2 GiB come back through the windows.
     */
    @Test
    void tensorsBeyondTwoGigabytesLoad() throws IOException {
        long padBytes = 2_200_000_000L;
        String header = "{\"pad\":{\"dtype\":\"U8\",\"shape\":[" + padBytes + "],\"data_offsets\":[0," + padBytes + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[" + padBytes + "," + (padBytes + 16) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path p = dir.resolve("big.safetensors");
        long dataStart = 8 + h.length;
        long markerAt = (1L << 31) + 12345; // inside "pad", beyond the 2 GiB boundary
        try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
            raf.setLength(dataStart + padBytes + 16); // sparse: costs no disk
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
            raf.write(h);
            raf.seek(dataStart + markerAt);
            raf.write(0x5a);
            raf.seek(dataStart + padBytes);
            raf.write(ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
                    .putFloat(1.5f).putFloat(-2f).putFloat(3.25e-3f).putFloat(7e20f).array());
        }
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(padBytes, f.info("pad").byteLength());
            try (Tensor t = f.load("tail", Allocator.direct())) {
                assertArrayEquals(new float[]{1.5f, -2f, 3.25e-3f, 7e20f}, t.toFloatArray());
            }
            long[] seen = {0};
            byte[] marker = {0};
            f.forEachWindow("pad", (w, first) -> {
                assertEquals(seen[0], first);
                assertTrue(w.remaining() <= SafetensorsFile.MAX_WINDOW_BYTES);
                if (markerAt >= first && markerAt < first + w.remaining()) marker[0] = w.get((int) (markerAt - first));
                seen[0] += w.remaining();
            });
            assertEquals(padBytes, seen[0]);
            assertEquals(0x5a, marker[0]);
            assertThrows(SafetensorsException.class, () -> f.slice("pad"));
            assertThrows(SafetensorsException.class, () -> f.readBytes("pad"));
        } finally {
            Files.deleteIfExists(p);
        }
    }
}
