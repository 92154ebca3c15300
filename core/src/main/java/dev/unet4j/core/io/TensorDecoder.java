package dev.unet4j.core.io;

import dev.unet4j.core.codes.Fp8Format;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Converts little-endian safetensors element bytes to float32. Non-F32 types go through small heap staging arrays
 * with bulk buffer transfers, which the JIT turns into tight loops (per-element direct-buffer access is several
 * times slower).
 */
final class TensorDecoder {
    private static final int CHUNK = 1 << 14; // elements per staging round
    private static final float[] E4M3 = Fp8Format.E4M3.decodeTable();
    private static final float[] E5M2 = Fp8Format.E5M2.decodeTable();

    private TensorDecoder() {
    }

    /**
     * Decodes all elements in {@code src} (position to limit, a whole number of elements) into {@code dst} from its
     * position on; {@code dst} must have room.
     */
    static void decode(DType dtype, ByteBuffer src, FloatBuffer dst) {
        ByteBuffer s = src.slice().order(ByteOrder.LITTLE_ENDIAN);
        if (dtype == DType.F32) {
            dst.put(s.asFloatBuffer()); // a bulk copy when the platform is little-endian
            return;
        }
        int n = s.remaining() / dtype.byteSize();
        float[] out = new float[Math.min(CHUNK, n)];
        Staging st = new Staging(dtype, Math.min(CHUNK, n));
        for (int at = 0; at < n; at += CHUNK) {
            int len = Math.min(CHUNK, n - at);
            st.decode(s, at, len, out);
            dst.put(out, 0, len);
        }
    }

    /** Per-call staging arrays for one dtype. */
    private static final class Staging {
        private final DType dtype;
        private final byte[] b;
        private final short[] h;
        private final int[] i;
        private final long[] l;
        private final double[] d;

        Staging(DType dtype, int n) {
            this.dtype = dtype;
            int size = dtype.byteSize();
            boolean f64 = dtype == DType.F64;
            this.b = size == 1 ? new byte[n] : null;
            this.h = size == 2 ? new short[n] : null;
            this.i = size == 4 ? new int[n] : null;
            this.l = size == 8 && !f64 ? new long[n] : null;
            this.d = f64 ? new double[n] : null;
        }

        /** Elements {@code [at, at + len)} of {@code s} into {@code out[0, len)}. */
        void decode(ByteBuffer s, int at, int len, float[] out) {
            switch (dtype.byteSize()) {
                case 1 -> s.get(at, b, 0, len);
                case 2 -> s.asShortBuffer().get(at, h, 0, len);
                case 4 -> s.asIntBuffer().get(at, i, 0, len);
                default -> {
                    if (d != null) s.asDoubleBuffer().get(at, d, 0, len);
                    else s.asLongBuffer().get(at, l, 0, len);
                }
            }
            switch (dtype) {
                case F16 -> {
                    float[] t = Float16.table();
                    for (int k = 0; k < len; k++) out[k] = t[h[k] & 0xffff];
                }
                case BF16 -> {
                    for (int k = 0; k < len; k++) out[k] = Float.intBitsToFloat(h[k] << 16);
                }
                case F8_E4M3 -> lookup8(E4M3, len, out);
                case F8_E5M2 -> lookup8(E5M2, len, out);
                case F64 -> {
                    for (int k = 0; k < len; k++) out[k] = (float) d[k];
                }
                case BOOL -> {
                    for (int k = 0; k < len; k++) out[k] = b[k] != 0 ? 1f : 0f;
                }
                case U8 -> {
                    for (int k = 0; k < len; k++) out[k] = b[k] & 0xff;
                }
                case I8 -> {
                    for (int k = 0; k < len; k++) out[k] = b[k];
                }
                case I16 -> {
                    for (int k = 0; k < len; k++) out[k] = h[k];
                }
                case U16 -> {
                    for (int k = 0; k < len; k++) out[k] = h[k] & 0xffff;
                }
                case I32 -> {
                    for (int k = 0; k < len; k++) out[k] = (float) i[k];
                }
                case U32 -> {
                    for (int k = 0; k < len; k++) out[k] = (float) (i[k] & 0xffffffffL);
                }
                case I64 -> {
                    for (int k = 0; k < len; k++) out[k] = (float) l[k];
                }
                case U64 -> {
                    for (int k = 0; k < len; k++) out[k] = unsignedToFloat(l[k]);
                }
                case F32 -> throw new AssertionError("F32 is copied in bulk");
            }
        }

        private void lookup8(float[] table, int len, float[] out) {
            for (int k = 0; k < len; k++) out[k] = table[b[k] & 0xff];
        }
    }

    /** Element {@code i} of an integer dtype as a long (U64 bits as stored; the caller checks the sign). */
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

    /** Correctly rounded unsigned 64-bit to float: halve keeping the sticky bit, convert, double. */
    private static float unsignedToFloat(long v) {
        if (v >= 0) return (float) v;
        return ((float) ((v >>> 1) | (v & 1))) * 2f;
    }
}
