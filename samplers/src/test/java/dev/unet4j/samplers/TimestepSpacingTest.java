package dev.unet4j.samplers;

import dev.unet4j.samplers.schedule.TimestepSpacing;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Spacing formulas against values printed by NumPy running diffusers' expressions (T = 1000, offset 1 for
 * DPM leading), including the half-even rounding of 499.5 and odd step counts.
 */
class TimestepSpacingTest {
    private static final int T = 1000;

    @Test
    void ddim() {
        assertArrayEquals(new long[] {999, 888, 777, 666, 555, 444, 333, 222, 111, 0}, TimestepSpacing.LINSPACE.ddim(T, 10, 0));
        assertArrayEquals(new long[] {999, 500, 0}, TimestepSpacing.LINSPACE.ddim(T, 3, 0));
        assertArrayEquals(new long[] {999, 832, 666, 500, 333, 166, 0}, TimestepSpacing.LINSPACE.ddim(T, 7, 0));
        assertArrayEquals(new long[] {999, 899, 799, 699, 599, 499, 399, 299, 199, 99}, TimestepSpacing.TRAILING.ddim(T, 10, 0));
        assertArrayEquals(new long[] {999, 666, 332}, TimestepSpacing.TRAILING.ddim(T, 3, 0));
        assertArrayEquals(new long[] {999, 856, 713, 570, 428, 285, 142}, TimestepSpacing.TRAILING.ddim(T, 7, 0));
    }

    @Test
    void dpmSolver() {
        assertArrayEquals(new long[] {999, 899, 799, 699, 599, 500, 400, 300, 200, 100}, TimestepSpacing.LINSPACE.dpmSolver(T, 10, 0));
        assertArrayEquals(new long[] {999, 666, 333}, TimestepSpacing.LINSPACE.dpmSolver(T, 3, 0));
        assertArrayEquals(new long[] {999, 856, 714, 571, 428, 285, 143}, TimestepSpacing.LINSPACE.dpmSolver(T, 7, 0));
        assertArrayEquals(new long[] {901, 811, 721, 631, 541, 451, 361, 271, 181, 91}, TimestepSpacing.LEADING.dpmSolver(T, 10, 1));
        assertArrayEquals(new long[] {751, 501, 251}, TimestepSpacing.LEADING.dpmSolver(T, 3, 1));
        assertArrayEquals(new long[] {876, 751, 626, 501, 376, 251, 126}, TimestepSpacing.LEADING.dpmSolver(T, 7, 1));
    }

    @Test
    void eulerFamily() {
        assertArrayEquals(new float[] {999, 499.5f, 0}, TimestepSpacing.LINSPACE.kdiffusion(T, 3, 0));
        assertArrayEquals(new float[] {999, 832.5f, 666, 499.5f, 333, 166.5f, 0}, TimestepSpacing.LINSPACE.kdiffusion(T, 7, 0));
        assertArrayEquals(new float[] {999, 666, 332}, TimestepSpacing.TRAILING.kdiffusion(T, 3, 0));
        assertArrayEquals(new float[] {999, 856, 713, 570, 428, 285, 142}, TimestepSpacing.TRAILING.kdiffusion(T, 7, 0));
    }

    @Test
    void rejectsMoreStepsThanTrainingTimesteps() {
        assertThrows(IllegalArgumentException.class, () -> TimestepSpacing.LEADING.ddim(T, 1001, 0));
        assertThrows(IllegalArgumentException.class, () -> TimestepSpacing.fromConfig("karras", "cfg"));
    }
}
