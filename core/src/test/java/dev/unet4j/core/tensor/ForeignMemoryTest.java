package dev.unet4j.core.tensor;

import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tensors over memory another runtime owns (here a JavaCPP FloatPointer), checked against that memory's own reads. */
class ForeignMemoryTest {
    @Test
    void aWrappedTensorReadsAndWritesTheForeignMemoryInPlace() {
        try (FloatPointer memory = new FloatPointer(24)) {
            for (int i = 0; i < 24; i++) memory.put(i, i * 0.5f);
            long liveBefore = NativeBuffer.liveBytes();
            NativeBuffer buffer = NativeBuffer.wrap(memory.address(), 24, memory);
            assertTrue(buffer.isForeign());
            assertEquals(liveBefore, NativeBuffer.liveBytes(), "foreign memory is not unet4j's to count");
            // a column-major [3, 4] view from element 2: element (i, j) at 2 + i + 3j
            try (Tensor t = Tensor.wrap(buffer, new long[]{3, 4}, new long[]{1, 3}, 2)) {
                assertFalse(t.isOwner());
                assertEquals(memory.address() + 2 * Float.BYTES, t.address());
                for (int i = 0; i < 3; i++) {
                    for (int j = 0; j < 4; j++) assertEquals(memory.get(2 + i + 3 * j), t.get(i, j));
                }
                t.set(-3f, 2, 3);
                assertEquals(-3f, memory.get(2 + 2 + 9));
                memory.put(2, 17f);
                assertEquals(17f, t.get(0, 0));
            }
            assertEquals(17f, memory.get(2), "closing the view leaves the memory to its owner");
            try (Tensor again = Tensor.wrap(buffer, new long[]{24}, new long[]{1}, 0)) {
                assertEquals(17f, again.toFloatArray()[2], "the buffer is still live after a view closed");
            }
        }
    }

    @Test
    void geometryOutsideTheMemoryAndBadArgumentsAreRefused() {
        try (FloatPointer memory = new FloatPointer(12)) {
            NativeBuffer buffer = NativeBuffer.wrap(memory.address(), 12, memory);
            IndexOutOfBoundsException past = assertThrows(IndexOutOfBoundsException.class,
                    () -> Tensor.wrap(buffer, new long[]{3, 4}, new long[]{4, 1}, 1));
            assertTrue(past.getMessage().contains("12 floats"), past.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(buffer, new long[]{3, 4}, new long[]{-4, 1}, 8));
            assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(buffer, new long[]{3, 4}, new long[]{1}, 0));
            assertThrows(IllegalArgumentException.class, () -> NativeBuffer.wrap(0, 12, memory));
            assertThrows(IllegalArgumentException.class, () -> NativeBuffer.wrap(memory.address() + 1, 11, memory));
            assertThrows(IllegalArgumentException.class, () -> NativeBuffer.wrap(memory.address(), 12, null));
            try (Tensor empty = Tensor.wrap(buffer, new long[]{0, 4}, new long[]{4, 1}, 12)) {
                assertArrayEquals(new float[0], empty.toFloatArray());
            }
        }
    }
}
