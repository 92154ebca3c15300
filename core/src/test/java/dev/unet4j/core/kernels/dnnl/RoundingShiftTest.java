package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.NativeBuffer;
import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Power-of-two requantization tables recognised and run by oneDNN, against a table lookup, for every code. */
class RoundingShiftTest {
    private static final DnnlKernels DNNL = new DnnlKernels();

    @AfterAll
    static void close() {
        DNNL.close();
    }

    /** {@code clamp(rint(q / 2^shift), -max, max) * 2^shift} by signed code, written from the definition. */
    private static byte[] table(int shift, int max) {
        byte[] m = new byte[256];
        for (int k = 0; k < 256; k++) m[k] = (byte) (Math.max(-max, Math.min(max, (int) Math.rint((byte) k / (double) (1 << shift)))) << shift);
        return m;
    }

    private static ByteBuffer bytes(Tensor t, long n) {
        return NativeBuffer.floatsAt(t.address(), (n + 3) / 4).asByteBuffer().limit((int) n);
    }

    @Test
    void everyDoubleRoundingWidthRunsNativelyAndMatchesTheTableOnEveryCode() {
        int n = 100_003; // all 256 codes (including -128) many times over, and a tail
        try (DnnlWorkspace ws = DNNL.newWorkspace(Allocator.direct()); Tensor src = Tensor.allocate(Allocator.direct(), (n + 3) / 4);
             Tensor dst = Tensor.allocate(Allocator.direct(), (n + 3) / 4)) {
            ByteBuffer in = bytes(src, n);
            for (int i = 0; i < n; i++) in.put(i, (byte) (i * 37));
            for (int bits = 2; bits <= 7; bits++) {
                int shift = 8 - bits, max = (1 << (bits - 1)) - 1;
                byte[] table = table(shift, max);
                DnnlCodedWeightLayers.RoundingShift r = DnnlCodedWeightLayers.RoundingShift.of(table);
                assertEquals(new DnnlCodedWeightLayers.RoundingShift(shift, max), r, bits + " bits");
                r.apply(DNNL, ws, src.address(), dst.address(), n);
                ByteBuffer out = bytes(dst, n);
                for (int i = 0; i < n; i++) assertEquals(table[in.get(i) & 0xFF], out.get(i), bits + " bits, code " + in.get(i));
            }
        }
    }

    @Test
    void otherTablesAreNotTakenForOne() {
        byte[] halfUp = new byte[256];
        for (int k = 0; k < 256; k++) halfUp[k] = (byte) (Math.max(-31, Math.min(31, Math.round((byte) k / 4f))) * 4);
        assertNull(DnnlCodedWeightLayers.RoundingShift.of(halfUp), "ties away from even");
        byte[] oneOff = table(2, 31);
        oneOff[200] += 4;
        assertNull(DnnlCodedWeightLayers.RoundingShift.of(oneOff));
        byte[] identity = new byte[256];
        for (int k = 0; k < 256; k++) identity[k] = (byte) k;
        assertNull(DnnlCodedWeightLayers.RoundingShift.of(identity));
        assertEquals(new DnnlCodedWeightLayers.RoundingShift(3, 7), DnnlCodedWeightLayers.RoundingShift.of(table(3, 7)), "a tighter clamp");
    }
}
