package dev.unet4j.core.io;

import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every code of F16, BF16 and both FP8 formats, decoded by {@link Float16} (F16; FP8 codes by
 * {@code Fp8Format}, checked in {@code Fp8FormatTest}) and by {@link SafetensorsFile#load}, against the formats' defining formulas evaluated here in double.
 */
class FloatDecodeTest {
    @TempDir
    Path dir;

    /** sign * 2^(e - bias) * (1 + m / 2^mantBits), subnormals sign * 2^(1 - bias) * m / 2^mantBits. */
    private static double formula(int code, int expBits, int mantBits, int bias) {
        int sign = (code >>> (expBits + mantBits)) & 1;
        int e = (code >>> mantBits) & ((1 << expBits) - 1);
        int m = code & ((1 << mantBits) - 1);
        double frac = m / Math.pow(2, mantBits);
        double mag = e == 0 ? Math.pow(2, 1 - bias) * frac : Math.pow(2, e - bias) * (1 + frac);
        return sign == 1 ? -mag : mag;
    }

    private static double f16Expected(int h) {
        int e = (h >>> 10) & 31, m = h & 1023;
        if (e == 31) return m == 0 ? ((h & 0x8000) != 0 ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY) : Double.NaN;
        return formula(h, 5, 10, 15);
    }

    private static double bf16Expected(int h) {
        int e = (h >>> 7) & 255, m = h & 127;
        if (e == 255) return m == 0 ? ((h & 0x8000) != 0 ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY) : Double.NaN;
        return formula(h, 8, 7, 127);
    }

    private static double e4m3Expected(int c) {
        if ((c & 0x7f) == 0x7f) return Double.NaN; // S.1111.111
        return formula(c, 4, 3, 7);
    }

    private static double e5m2Expected(int c) {
        int e = (c >>> 2) & 31, m = c & 3;
        if (e == 31) return m == 0 ? ((c & 0x80) != 0 ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY) : Double.NaN;
        return formula(c, 5, 2, 15);
    }

    /** Same value, same sign of zero; any NaN matches NaN. */
    private static void assertSame(double expected, float actual, String what) {
        if (Double.isNaN(expected)) {
            assertTrue(Float.isNaN(actual), what + ": expected NaN, got " + actual);
            return;
        }
        assertEquals(Double.doubleToLongBits(expected), Double.doubleToLongBits(actual), what + ": expected " + expected + " got " + actual);
    }

    @Test
    void allF16CodesDecodeExactly() {
        for (int h = 0; h < 65536; h++) assertSame(f16Expected(h), Float16.toFloat((short) h), "f16 0x" + Integer.toHexString(h));
        assertEquals(65504f, Float16.toFloat((short) 0x7bff));
        assertEquals(0x1p-24f, Float16.toFloat((short) 0x0001));
        assertEquals(0x1p-14f, Float16.toFloat((short) 0x0400));
    }

    @Test
    void f16EncodeRoundsToNearestEven() {
        for (int h = 0; h < 65536; h++) {
            float f = Float16.toFloat((short) h);
            short back = Float16.fromFloat(f);
            if (Float.isNaN(f)) assertTrue(Float.isNaN(Float16.toFloat(back)));
            else assertEquals(h, back & 0xffff, "round trip of 0x" + Integer.toHexString(h));
        }
        // Midpoints between neighbours (exact in float: 12 significant bits) go to the even code; anything
        // off the midpoint goes to the nearer one.
        for (int h = 0; h < 0x7bff; h++) {
            float lo = Float16.toFloat((short) h), hi = Float16.toFloat((short) (h + 1));
            float mid = (float) (((double) lo + hi) / 2);
            int even = (h & 1) == 0 ? h : h + 1;
            assertEquals(even, Float16.fromFloat(mid) & 0xffff, "midpoint above 0x" + Integer.toHexString(h));
            assertEquals(h, Float16.fromFloat(Math.nextDown(mid)) & 0xffff);
            assertEquals(h + 1, Float16.fromFloat(Math.nextUp(mid)) & 0xffff);
            assertEquals(even | 0x8000, Float16.fromFloat(-mid) & 0xffff);
        }
        assertEquals(0x7c00, Float16.fromFloat(65520f) & 0xffff); // halfway to 2^16 rounds to infinity
        assertEquals(0x7bff, Float16.fromFloat(Math.nextDown(65520f)) & 0xffff);
        assertEquals(0x7c00, Float16.fromFloat(1e10f) & 0xffff);
        assertEquals(0xfc00, Float16.fromFloat(Float.NEGATIVE_INFINITY) & 0xffff);
        assertEquals(0, Float16.fromFloat(0x1p-26f)); // below half the smallest subnormal
        assertEquals(1, Float16.fromFloat(Math.nextUp(0x1p-25f)));
        assertTrue(Float.isNaN(Float16.toFloat(Float16.fromFloat(Float.intBitsToFloat(0x7f800001)))));
    }

    /** The decoder path of {@link SafetensorsFile#load}, for every code of each 16- and 8-bit float type. */
    @Test
    void loadDecodesEveryCodeOfEveryFloatType() throws IOException {
        ByteBuffer all16 = ByteBuffer.allocate(65536 * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int h = 0; h < 65536; h++) all16.putShort((short) h);
        byte[] all8 = new byte[256];
        for (int c = 0; c < 256; c++) all8[c] = (byte) c;
        Path p = dir.resolve("codes.safetensors");
        new SafetensorsWriter()
                .addRaw("f16", DType.F16, new long[]{256, 256}, all16.array())
                .addRaw("bf16", DType.BF16, new long[]{65536}, all16.array())
                .addRaw("e4m3", DType.F8_E4M3, new long[]{256}, all8)
                .addRaw("e5m2", DType.F8_E5M2, new long[]{16, 16}, all8)
                .write(p);
        // A 40-byte window makes every tensor cross several mapping windows.
        try (SafetensorsFile f = SafetensorsFile.open(p, 40)) {
            check(f, "f16", 65536, FloatDecodeTest::f16Expected);
            check(f, "bf16", 65536, FloatDecodeTest::bf16Expected);
            check(f, "e4m3", 256, FloatDecodeTest::e4m3Expected);
            check(f, "e5m2", 256, FloatDecodeTest::e5m2Expected);
        }
    }

    private static void check(SafetensorsFile f, String name, int n, java.util.function.IntToDoubleFunction expected) throws IOException {
        try (Tensor t = f.load(name, Allocator.direct())) {
            float[] v = t.toFloatArray();
            assertEquals(n, v.length);
            for (int i = 0; i < n; i++) assertSame(expected.applyAsDouble(i), v[i], name + " code " + i);
        }
    }

    @Test
    void integerAndF64TypesLoadAndReadAsLongs() throws IOException {
        Path p = dir.resolve("ints.safetensors");
        ByteBuffer i16 = le(8).putShort((short) -32768).putShort((short) 32767).putShort((short) -1).putShort((short) 7);
        ByteBuffer i32 = le(12).putInt(Integer.MIN_VALUE).putInt(16777217).putInt(-5);
        ByteBuffer u32 = le(8).putInt(-1).putInt(3);
        ByteBuffer u64 = le(16).putLong(-1L).putLong(42);
        ByteBuffer f64 = le(24).putDouble(Math.PI).putDouble(1e300).putDouble(-0.0);
        new SafetensorsWriter()
                .add("i64", new long[]{Long.MIN_VALUE, -1, 0, 1L << 53, Long.MAX_VALUE}, 5)
                .addRaw("i16", DType.I16, new long[]{2, 2}, i16.array())
                .addRaw("u16", DType.U16, new long[]{4}, i16.array())
                .addRaw("i32", DType.I32, new long[]{3}, i32.array())
                .addRaw("u32", DType.U32, new long[]{2}, u32.array())
                .addRaw("u64", DType.U64, new long[]{2}, u64.array())
                .addRaw("i8", DType.I8, new long[]{3}, new byte[]{-128, 127, -1})
                .addRaw("u8", DType.U8, new long[]{3}, new byte[]{-128, 127, -1})
                .addRaw("bool", DType.BOOL, new long[]{3}, new byte[]{0, 1, 1})
                .addRaw("f64", DType.F64, new long[]{3}, f64.array())
                .addRaw("scalar", DType.F32, new long[]{}, le(4).putFloat(2.5f).array())
                .write(p);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertArrayEq(new long[]{Long.MIN_VALUE, -1, 0, 1L << 53, Long.MAX_VALUE}, f.readLongs("i64"));
            assertArrayEq(new long[]{-32768, 32767, -1, 7}, f.readLongs("i16"));
            assertArrayEq(new long[]{32768, 32767, 65535, 7}, f.readLongs("u16"));
            assertArrayEq(new long[]{Integer.MIN_VALUE, 16777217, -5}, f.readLongs("i32"));
            assertArrayEq(new long[]{4294967295L, 3}, f.readLongs("u32"));
            assertArrayEq(new long[]{-128, 127, -1}, f.readLongs("i8"));
            assertArrayEq(new long[]{128, 127, 255}, f.readLongs("u8"));
            assertArrayEq(new long[]{0, 1, 1}, f.readLongs("bool"));
            SafetensorsException big = org.junit.jupiter.api.Assertions.assertThrows(SafetensorsException.class, () -> f.readLongs("u64"));
            assertTrue(big.getMessage().contains("18446744073709551615"), big.getMessage());
            assertTrue(org.junit.jupiter.api.Assertions.assertThrows(SafetensorsException.class, () -> f.readLongs("f64"))
                    .getMessage().contains("'f64'"));

            assertFloats(f, "i64", -0x1p63f, -1f, 0f, 0x1p53f, 0x1p63f);
            assertFloats(f, "i32", -0x1p31f, 16777216f, -5f); // (float) 16777217 rounds to even
            assertFloats(f, "u32", 4294967296f, 3f);
            assertFloats(f, "u64", 0x1p64f, 42f);
            assertFloats(f, "u16", 32768f, 32767f, 65535f, 7f);
            assertFloats(f, "u8", 128f, 127f, 255f);
            assertFloats(f, "i8", -128f, 127f, -1f);
            assertFloats(f, "bool", 0f, 1f, 1f);
            assertFloats(f, "f64", (float) Math.PI, Float.POSITIVE_INFINITY, -0f);
            assertFloats(f, "scalar", 2.5f);
            try (Tensor s = f.load("scalar", Allocator.direct())) {
                assertEquals(0, s.rank());
            }
        }
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void assertArrayEq(long[] expected, long[] actual) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, actual);
    }

    private static void assertFloats(SafetensorsFile f, String name, float... expected) throws IOException {
        try (Tensor t = f.load(name, Allocator.direct())) {
            float[] v = t.toFloatArray();
            assertEquals(expected.length, v.length, name);
            for (int i = 0; i < v.length; i++) {
                assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(v[i]), name + "[" + i + "]: " + v[i]);
            }
        }
    }
}
