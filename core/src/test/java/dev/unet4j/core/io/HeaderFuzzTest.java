package dev.unet4j.core.io;

import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Seeded mutation fuzzing of the golden files' headers: whatever the bytes, opening (and, when that succeeds,
 * reading every tensor) either works or throws {@link SafetensorsException}; nothing else may escape.
 * {@code -Dunet4j.fuzz.iterations=N} runs a longer campaign (default 2,000).
 */
class HeaderFuzzTest {
    private static final long SEED = 0x5afe7e45L;
    private static final int MAX_SOURCE_BYTES = 400_000; // keeps each iteration's file write cheap

    @TempDir
    Path dir;

    @Test
    void mutatedHeadersFailOnlyWithSafetensorsException() throws IOException {
        int iterations = Integer.getInteger("unet4j.fuzz.iterations", 2_000);
        List<byte[]> sources = new ArrayList<>();
        for (Path p : FixtureFilesTest.allFixtureFiles()) {
            if (Files.size(p) <= MAX_SOURCE_BYTES) sources.add(Files.readAllBytes(p));
        }
        assertTrue(sources.size() >= 5, "small fixture files to mutate: " + sources.size());
        SplittableRandom rnd = new SplittableRandom(SEED);
        Path target = dir.resolve("fuzz.safetensors");
        int opened = 0;
        for (int it = 0; it < iterations; it++) {
            byte[] src = sources.get(rnd.nextInt(sources.size()));
            byte[] mutated = mutate(src, rnd);
            Files.write(target, mutated);
            try (SafetensorsFile f = SafetensorsFile.open(target)) {
                opened++;
                readEverything(f);
            } catch (SafetensorsException expected) {
                if (!expected.getMessage().contains(target.toString())) fail("message without the file: " + expected.getMessage());
            } catch (Throwable t) {
                throw new AssertionError("iteration " + it + " (seed " + SEED + ") escaped with " + t, t);
            }
        }
        // Some mutations (e.g. inside a name or padding) keep the file valid; they must have been read fully.
        assertTrue(opened > 0 && opened < iterations, "valid after mutation: " + opened + " of " + iterations);
    }

    private static void readEverything(SafetensorsFile f) throws IOException {
        for (String name : f.names()) {
            TensorInfo info = f.info(name);
            if (info.numel() > 10_000_000) continue; // a mutated shape could still be consistent but huge
            try (Tensor t = f.load(name, Allocator.direct())) {
                if (t.numel() != info.numel()) fail("loaded " + t.numel() + " of " + info);
            }
            if (info.dtype().isInteger()) f.readLongs(name);
        }
        f.metadata();
    }

    private static byte[] mutate(byte[] src, SplittableRandom rnd) {
        int headerEnd = (int) Math.min(src.length, 8 + ByteBuffer.wrap(src).order(ByteOrder.LITTLE_ENDIAN).getLong(0));
        byte[] out = src;
        int edits = 1 + rnd.nextInt(4);
        for (int e = 0; e < edits; e++) {
            // mostly inside the JSON text, sometimes in the length prefix
            int pos = rnd.nextInt(10) == 0 ? rnd.nextInt(8) : 8 + rnd.nextInt(Math.max(1, headerEnd - 8));
            pos = Math.min(pos, out.length - 1);
            switch (rnd.nextInt(6)) {
                case 0 -> { // flip one bit
                    out = out.clone();
                    out[pos] ^= (byte) (1 << rnd.nextInt(8));
                }
                case 1 -> { // random byte
                    out = out.clone();
                    out[pos] = (byte) rnd.nextInt(256);
                }
                case 2 -> { // change a digit into another digit: offsets, shapes
                    out = out.clone();
                    int d = indexOfDigit(out, pos, headerEnd);
                    if (d >= 0) out[d] = (byte) ('0' + rnd.nextInt(10));
                }
                case 3 -> out = insert(out, pos, (byte) "{}[],:\"0123456789 -e.".charAt(rnd.nextInt(21)));
                case 4 -> out = delete(out, pos, 1 + rnd.nextInt(3));
                default -> { // insert, then fix the length prefix so the JSON itself gets parsed
                    out = insert(out, pos, (byte) "0123456789,\"".charAt(rnd.nextInt(12)));
                    if (pos >= 8) ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(0, headerEnd - 8 + 1);
                }
            }
        }
        return out;
    }

    private static int indexOfDigit(byte[] b, int from, int end) {
        for (int i = from; i < Math.min(end, b.length); i++) if (b[i] >= '0' && b[i] <= '9') return i;
        return -1;
    }

    private static byte[] insert(byte[] b, int pos, byte v) {
        byte[] out = new byte[b.length + 1];
        System.arraycopy(b, 0, out, 0, pos);
        out[pos] = v;
        System.arraycopy(b, pos, out, pos + 1, b.length - pos);
        return out;
    }

    private static byte[] delete(byte[] b, int pos, int n) {
        n = Math.min(n, b.length - pos);
        byte[] out = Arrays.copyOf(b, b.length - n);
        System.arraycopy(b, pos + n, out, pos, b.length - pos - n);
        return out;
    }
}
