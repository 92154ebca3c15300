package dev.unet4j.core.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/** Converts little-endian safetensors element bytes to float32. */
final class TensorDecoder {
    private TensorDecoder() {
    }

    /**
     * Decodes all elements in {@code src} (position to limit, a whole number of elements) into {@code dst} from its
     * position on; {@code dst} must have room.
     */
    static void decode(DType dtype, ByteBuffer src, FloatBuffer dst) {
        ByteBuffer s = src.slice().order(ByteOrder.LITTLE_ENDIAN);
        int n = s.remaining() / dtype.byteSize();
        int base = dst.position();
        switch (dtype) {
            case F32 -> dst.put(s.asFloatBuffer()); // a bulk copy when the platform is little-endian
            case F64 -> {
                for (int i = 0; i < n; i++) dst.put(base + i, (float) s.getDouble(i * 8));
            }
            case F16 -> lookup16(s, dst, base, n, Float16.table());
            case BF16 -> {
                for (int i = 0; i < n; i++) dst.put(base + i, Float.intBitsToFloat((s.getShort(i * 2) & 0xffff) << 16));
            }
            case F8_E4M3 -> lookup8(s, dst, base, n, Float8.e4m3Table());
            case F8_E5M2 -> lookup8(s, dst, base, n, Float8.e5m2Table());
            case BOOL -> {
                for (int i = 0; i < n; i++) dst.put(base + i, s.get(i) != 0 ? 1f : 0f);
            }
            case U8 -> {
                for (int i = 0; i < n; i++) dst.put(base + i, s.get(i) & 0xff);
            }
            case I8 -> {
                for (int i = 0; i < n; i++) dst.put(base + i, s.get(i));
            }
            case I16 -> {
                for (int i = 0; i < n; i++) dst.put(base + i, s.getShort(i * 2));
            }
            case U16 -> {
                for (int i = 0; i < n; i++) dst.put(base + i, s.getShort(i * 2) & 0xffff);
            }
            case I32 -> {
                for (int i = 0; i < n; i++) dst.put(base + i, (float) s.getInt(i * 4));
            }
            case U32 -> {
                for (int i = 0; i < n; i++) dst.put(base + i, (float) (s.getInt(i * 4) & 0xffffffffL));
            }
            case I64 -> {
                for (int i = 0; i < n; i++) dst.put(base + i, (float) s.getLong(i * 8));
            }
            case U64 -> {
                for (int i = 0; i < n; i++) dst.put(base + i, unsignedToFloat(s.getLong(i * 8)));
            }
        }
        dst.position(base + n);
    }

    /** Element {@code i} of an integer dtype as a long; U64 values above Long.MAX_VALUE are refused by the caller. */
    static long integerAt(DType dtype, ByteBuffer s, int i) {
        return switch (dtype) {
            case BOOL -> s.get(i) != 0 ? 1 : 0;
            case U8 -> s.get(i) & 0xff;
            case I8 -> s.get(i);
            case I16 -> s.getShort(i * 2);
            case U16 -> s.getShort(i * 2) & 0xffff;
            case I32 -> s.getInt(i * 4);
            case U32 -> s.getInt(i * 4) & 0xffffffffL;
            case I64, U64 -> s.getLong(i * 8);
            default -> throw new IllegalArgumentException(dtype + " is not an integer type");
        };
    }

    private static void lookup16(ByteBuffer s, FloatBuffer dst, int base, int n, float[] table) {
        for (int i = 0; i < n; i++) dst.put(base + i, table[s.getShort(i * 2) & 0xffff]);
    }

    private static void lookup8(ByteBuffer s, FloatBuffer dst, int base, int n, float[] table) {
        for (int i = 0; i < n; i++) dst.put(base + i, table[s.get(i) & 0xff]);
    }

    /** Correctly rounded unsigned 64-bit to float: halve keeping the sticky bit, convert, double. */
    private static float unsignedToFloat(long v) {
        if (v >= 0) return (float) v;
        return ((float) ((v >>> 1) | (v & 1))) * 2f;
    }
}
