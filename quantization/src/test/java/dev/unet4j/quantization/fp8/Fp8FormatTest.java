package dev.unet4j.quantization.fp8;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Checks the codecs against the OFP8 rev 1.0 specification, restated here independently of the main code:
 * decode by the formula, encode by nearest-value search with midpoints over the decoded grid.
 *
 * <p>The encoder is checked over all 2^32 float bit patterns, both formats and both overflow modes in one pass
 * (the reference result is computed once per bit pattern and format; about 20-40 s on 2 cores).
 */
class Fp8FormatTest {

    /** Spec parameters, written out again here rather than read from the enum. */
    record Spec(int e, int m, int bias, boolean ieeeSpecials) {
        static Spec of(Fp8Format f) {
            return f == Fp8Format.E4M3 ? new Spec(4, 3, 7, false) : new Spec(5, 2, 15, true);
        }

        /** Value of a 7-bit magnitude code by the formula, ignoring special encodings. */
        double formula(int magnitude) {
            int ef = magnitude >> m;
            int mf = magnitude & ((1 << m) - 1);
            if (ef == 0) return Math.pow(2, 1 - bias) * mf / (1 << m);
            return Math.pow(2, ef - bias) * (1 + (double) mf / (1 << m));
        }

        boolean isNaN(int magnitude) {
            return ieeeSpecials ? (magnitude >> m) == (1 << e) - 1 && (magnitude & ((1 << m) - 1)) != 0 : magnitude == 0x7F;
        }

        boolean isInf(int magnitude) {
            return ieeeSpecials && magnitude == ((1 << e) - 1) << m;
        }

        /** Largest finite magnitude code: the largest code that is neither NaN nor infinity. */
        int maxCode() {
            int c = 0x7F;
            while (isNaN(c) || isInf(c)) c--;
            return c;
        }
    }

    @ParameterizedTest
    @EnumSource(Fp8Format.class)
    void decodesAll256CodesLikeTheSpecFormula(Fp8Format f) {
        Spec s = Spec.of(f);
        for (int code = 0; code < 256; code++) {
            int mag = code & 0x7F;
            float got = f.decode((byte) code);
            if (s.isNaN(mag)) {
                assertTrue(Float.isNaN(got), f + " code " + code + " must be NaN, got " + got);
                continue;
            }
            double sign = (code & 0x80) != 0 ? -1 : 1;
            double expected = s.isInf(mag) ? sign * Double.POSITIVE_INFINITY : sign * s.formula(mag);
            assertEquals(expected, got, 0.0, f + " code 0x" + Integer.toHexString(code));
            if (expected == 0) assertEquals(sign < 0, (Float.floatToRawIntBits(got) >>> 31) == 1, "signed zero of code " + code);
        }
    }

    @Test
    void namedConstantsMatchTheSpec() {
        assertEquals(448f, Fp8Format.E4M3.maxFinite());
        assertEquals(57344f, Fp8Format.E5M2.maxFinite());
        assertEquals(0x1p-9f, Fp8Format.E4M3.minSubnormal());
        assertEquals(0x1p-16f, Fp8Format.E5M2.minSubnormal());
        // A few hand-checked conversions at the overflow boundary.
        assertEquals((byte) 0x7E, Fp8Format.E4M3.encode(464f, Fp8Overflow.NON_SATURATING)); // tie -> even 448
        assertEquals((byte) 0x7F, Fp8Format.E4M3.encode(Math.nextUp(464f), Fp8Overflow.NON_SATURATING));
        assertEquals((byte) 0x7E, Fp8Format.E4M3.encode(1e30f, Fp8Overflow.SATURATE));
        assertEquals((byte) 0x7B, Fp8Format.E5M2.encode(Math.nextDown(61440f), Fp8Overflow.NON_SATURATING));
        assertEquals((byte) 0x7C, Fp8Format.E5M2.encode(61440f, Fp8Overflow.NON_SATURATING)); // tie -> even 2^16 = inf
        assertEquals((byte) 0xFC, Fp8Format.E5M2.encode(Float.NEGATIVE_INFINITY, Fp8Overflow.NON_SATURATING));
        assertEquals((byte) 0xFB, Fp8Format.E5M2.encode(Float.NEGATIVE_INFINITY, Fp8Overflow.SATURATE));
    }

    /**
     * The reference rounding for one format over non-negative magnitudes: the finite grid from the spec formula,
     * extended by the formula's next value above the maximum (the "overflow" step), and the midpoints between
     * neighbours. Walking it in increasing order makes the exhaustive sweep cheap.
     */
    static final class Reference {
        final double[] values;   // ascending: finite magnitudes, then the overflow step
        final int[] codes;       // their magnitude codes
        final double[] midpoints;
        final int overflowIndex;
        final Spec spec;

        Reference(Spec s) {
            spec = s;
            int max = s.maxCode();
            values = new double[max + 2];
            codes = new int[max + 2];
            for (int c = 0; c <= max + 1; c++) {
                values[c] = s.formula(c);
                codes[c] = c;
            }
            for (int i = 1; i < values.length; i++) if (!(values[i] > values[i - 1])) throw new AssertionError("grid not ascending");
            overflowIndex = max + 1;
            midpoints = new double[values.length - 1];
            for (int i = 0; i < midpoints.length; i++) midpoints[i] = (values[i] + values[i + 1]) / 2; // exact in double
        }

        /** Advances a floor index (largest i with values[i] <= a) from {@code i} to magnitude {@code a >= values[i]}. */
        int advanceFloor(double a, int i) {
            while (i + 1 < values.length && a >= values[i + 1]) i++;
            return i;
        }

        /** Index of the grid value nearest to {@code a}, given its floor index: midpoint comparison, ties to the even code. */
        int round(double a, int floor) {
            if (floor + 1 >= values.length) return floor;      // at or beyond the overflow step
            double mid = midpoints[floor];
            if (a < mid) return floor;
            if (a > mid) return floor + 1;
            return (codes[floor] & 1) == 0 ? floor : floor + 1;
        }


        int expected(int signBit, int absBits, int idx, Fp8Overflow mode) {
            int nan = 0x7F;
            if (absBits > 0x7F800000) return signBit | nan;
            boolean overflow = absBits == 0x7F800000 || idx == overflowIndex;
            if (!overflow) return signBit | codes[idx];
            if (mode == Fp8Overflow.SATURATE) return signBit | (overflowIndex - 1);
            return signBit | (spec.ieeeSpecials ? ((1 << spec.e) - 1) << spec.m : nan);
        }
    }

    @Test
    void encodesEveryFloatBitPatternLikeTheReference() {
        Fp8Format[] formats = Fp8Format.values();
        Reference[] refs = new Reference[formats.length];
        for (int k = 0; k < formats.length; k++) refs[k] = new Reference(Spec.of(formats[k]));
        final int chunkBits = 20; // 4096 chunks of 2^20 patterns, each all-positive or all-negative with rising magnitude
        AtomicLong checked = new AtomicLong();
        AtomicReference<String> firstFailure = new AtomicReference<>();
        IntStream.range(0, 1 << (32 - chunkBits)).parallel().forEach(chunk -> {
            if (firstFailure.get() != null) return;
            int start = chunk << chunkBits;
            int signBit = (start >>> 24) & 0x80;
            int[] idx = new int[formats.length];
            for (int k = 0; k < formats.length; k++) {
                float first = Float.intBitsToFloat(start & 0x7FFFFFFF);
                idx[k] = Float.isNaN(first) ? 0 : refs[k].advanceFloor(first, 0);
            }
            for (int j = 0; j < (1 << chunkBits); j++) {
                int bits = start + j;
                int abs = bits & 0x7FFFFFFF;
                float x = Float.intBitsToFloat(bits);
                double a = abs <= 0x7F800000 ? Float.intBitsToFloat(abs) : 0;
                for (int k = 0; k < formats.length; k++) {
                    Reference r = refs[k];
                    int n = 0;
                    if (abs < 0x7F800000) {
                        idx[k] = r.advanceFloor(a, idx[k]);
                        n = r.round(a, idx[k]);
                    }
                    int expSat = r.expected(signBit, abs, n, Fp8Overflow.SATURATE);
                    int expNon = r.expected(signBit, abs, n, Fp8Overflow.NON_SATURATING);
                    int gotSat = formats[k].encode(x, Fp8Overflow.SATURATE) & 0xFF;
                    int gotNon = formats[k].encode(x, Fp8Overflow.NON_SATURATING) & 0xFF;
                    if (gotSat != expSat || gotNon != expNon) {
                        firstFailure.compareAndSet(null, String.format("%s encode(0x%08x = %s): saturating 0x%02x expected 0x%02x, "
                                + "non-saturating 0x%02x expected 0x%02x", formats[k], bits, x, gotSat, expSat, gotNon, expNon));
                        return;
                    }
                }
            }
            checked.addAndGet(1L << chunkBits);
        });
        if (firstFailure.get() != null) fail(firstFailure.get());
        assertEquals(1L << 32, checked.get());
    }
}
